package admin

import (
	"net/http"
	"strconv"

	"gatehouse/storage"
)

// pageParams reads page_token and limit (1 to 500) from the query. The
// page size may also be given as page_size, the name that goes with
// page_token and next_page_token in most APIs that use them.
func pageParams(r *http.Request) (storage.Page, error) {
	q := r.URL.Query()
	p := storage.Page{Token: q.Get("page_token")}
	name := "limit"
	if q.Get(name) == "" && q.Get("page_size") != "" {
		name = "page_size"
	}
	if s := q.Get(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return p, errField(name, "must be a number from 1 to 500")
		}
		p.Limit = n
	}
	return p, nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, errField(name, "must be true or false")
	}
	return &b, nil
}
