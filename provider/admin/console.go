package admin

import "net/http"

func (h *Handler) mountConsole(mux *http.ServeMux) {}
