package seed_test

import (
	"context"
	"errors"
	"testing"

	"gatehouse/seed"
)

// FuzzLoad feeds arbitrary bytes to the seed parser and, when they parse,
// to validation without a store: neither may panic, and a refusal is
// always a *seed.Error naming the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(valid))
	f.Add([]byte("users:\n  - email: a@x.example\n    colour: blue\n"))
	f.Add([]byte("partners: [{id: a, name: &x b}, {id: *x}]\n"))
	f.Add([]byte("clients:\n  - id: c\n    redirect_uris: [\"http://[::1]:80/cb\"]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := seed.Parse("fuzz.yaml", data)
		if err != nil {
			var se *seed.Error
			if !errors.As(err, &se) || len(se.Problems) == 0 || se.Problems[0].File != "fuzz.yaml" {
				t.Fatalf("Parse error %v is not a *seed.Error naming the file", err)
			}
			return
		}
		if err := seed.Validate(context.Background(), file, nil, nil); err != nil {
			var se *seed.Error
			if !errors.As(err, &se) {
				t.Fatalf("Validate error %v is not a *seed.Error", err)
			}
		}
	})
}
