package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"
)

// ceilings are the bare servers and computations each path is bounded by.
// The servers run in a child process of their own, as the node under test
// does: in the load tool's process they would share its scheduler and
// garbage collector with the 32 clients, and look slower than they are.
type ceilings struct {
	g       *gatehouse
	child   *exec.Cmd
	stdin   io.Closer
	signURL string
	statURL string
}

// ceilingSpec is what the child needs to know, sent on its stdin.
type ceilingSpec struct {
	Issuer    string `json:"issuer"`
	ClientID  string `json:"client_id"`
	JWKS      []byte `json:"jwks"`
	Discovery []byte `json:"discovery"`
}

// startCeilings starts the child: one server that does nothing but sign an
// ES256 JWT shaped like Gatehouse's access tokens, and one that only writes
// the bytes the node's JWKS and discovery documents hold.
func startCeilings(ctx context.Context, g *gatehouse) (*ceilings, error) {
	spec := ceilingSpec{Issuer: g.target, ClientID: g.opts.clientID}
	var err error
	if spec.JWKS, err = g.getBytes(ctx, g.discovery.JWKS); err != nil {
		return nil, err
	}
	if spec.Discovery, err = g.getBytes(ctx, g.target+"/.well-known/openid-configuration"); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-ceilings")
	cmd.Stderr = os.Stderr
	// The child serves while its stdin stays open: it goes away with the
	// load tool even when the load tool is killed.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &ceilings{g: g, child: cmd, stdin: stdin}
	if err := json.NewEncoder(stdin).Encode(spec); err != nil {
		c.close()
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, scanErr := fmt.Sscan(line, &c.signURL, &c.statURL); err != nil || scanErr != nil {
		c.close()
		return nil, errors.New("the ceiling servers did not start")
	}
	return c, nil
}

func (c *ceilings) close() {
	_ = c.stdin.Close()
	_ = c.child.Wait()
}

// serveCeilings is the child: it serves until its parent goes away.
func serveCeilings() error {
	var spec ceilingSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"ceiling","typ":"at+jwt"}`))
	sign := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Unix()
		claims, _ := json.Marshal(map[string]any{
			"iss": spec.Issuer, "sub": spec.ClientID, "aud": []string{spec.ClientID}, "client_id": spec.ClientID,
			"iat": now, "nbf": now, "exp": now + 3600, "jti": base64.RawURLEncoding.EncodeToString(randBytes(16)), "scope": "",
		})
		input := header + "." + base64.RawURLEncoding.EncodeToString(claims)
		sum := sha256.Sum256([]byte(input))
		rs, ss, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sig := make([]byte, 64)
		rs.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3599}`, input+"."+base64.RawURLEncoding.EncodeToString(sig))
	})
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := spec.JWKS
		if r.URL.Path == "/discovery" {
			body = spec.Discovery
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	u1, err := serve(sign)
	if err != nil {
		return err
	}
	u2, err := serve(static)
	if err != nil {
		return err
	}
	fmt.Println(u1, u2)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// pid is the process whose CPU time a path's ceiling spends: the child
// for the bare servers, the load tool itself for argon2id.
func (c *ceilings) pid(path string) int {
	if path == "password_signin" {
		return os.Getpid()
	}
	return c.child.Process.Pid
}

// op returns the ceiling of a path, its worker count and a label; nil
// where no single step bounds the path.
func (c *ceilings) op(path string, n int) (op, int, string) {
	switch path {
	case "client_credentials", "introspect", "userinfo":
		return func(ctx context.Context, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.signURL, nil)
			return c.g.expect200(req)
		}, n, "bare ES256 signer"
	case "jwks":
		return c.g.getOp(c.statURL + "/jwks"), n, "bare static server"
	case "discovery":
		return c.g.getOp(c.statURL + "/discovery"), n, "bare static server"
	case "password_signin":
		o := c.g.opts
		salt := randBytes(16)
		// argon2id on every core: its own rate bounds the sign-in rate.
		return func(context.Context, int) error {
			argon2.IDKey([]byte(o.password), salt, uint32(o.argonTime), uint32(o.argonMemory), uint8(o.argonThreads), 32)
			return nil
		}, runtime.GOMAXPROCS(0), "argon2id"
	}
	return nil, 0, ""
}

func (g *gatehouse) getBytes(ctx context.Context, u string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := g.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
