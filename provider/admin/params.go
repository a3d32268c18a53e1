package admin

import (
	"net/http"
	"strconv"

	"gatehouse/storage"
)

// pageParams reads page_token and limit (1 to 500) from the query.
func pageParams(r *http.Request) (storage.Page, error) {
	q := r.URL.Query()
	p := storage.Page{Token: q.Get("page_token")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return p, errField("limit", "must be a number from 1 to 500")
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
