package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where the browser tests expect Chromium; scripts/test
// installs Debian's package there on a fresh machine.
const chromiumPath = "/usr/bin/chromium"

// chromeStepTimeout bounds one step of a browser test, so a page that never
// arrives fails with where the browser was instead of hanging the run.
const chromeStepTimeout = 20 * time.Second

// chrome is one headless Chromium driven through the DevTools protocol, on
// a fresh profile, with everything a page says on its console and every
// Content-Security-Policy violation recorded, and a full-page screenshot of
// each page the test visits kept as an artifact.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	base string // the node's URL; pages are named by path
	dir  string // where the screenshots go
	shot int

	mu       sync.Mutex
	problems []string // console errors, exceptions, CSP violations
}

// newChrome starts Chromium for t. Without it the test skips, except under
// CI=true, where a missing browser is a failure.
func newChrome(t *testing.T, base string) *chrome {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is not installed at %s (scripts/test installs it)", chromiumPath)
		}
		t.Skipf("Chromium is not installed at %s", chromiumPath)
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run in reverse)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)

	c := &chrome{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
	// The first call starts the browser; it gets no step timeout, which
	// would end the browser with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, c.record); err != nil {
		t.Fatalf("listening to the page: %v", err)
	}
	// A page's own listener reports CSP violations on the console, where
	// record sees them; Chromium's log entry for the same violation is the
	// second witness. It runs before any page script, in its own world,
	// so a page cannot remove it.
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
}, true);`,
		WorldName: "gatehouse-e2e",
	}); err != nil {
		t.Fatalf("installing the CSP listener: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.problems) > 0 {
			t.Errorf("the pages reported problems on the console:\n  %s", strings.Join(c.problems, "\n  "))
		}
	})
	return c
}

// screenshotDir is where a test's screenshots go: a directory per test under
// $GATEHOUSE_TEST_ARTIFACTS (scripts/test sets ./testdata-artifacts; a
// relative path is taken from the repository root), else a temporary one.
func screenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("GATEHOUSE_TEST_ARTIFACTS")
	if root == "" {
		dir := t.TempDir()
		t.Logf("screenshots in %s (removed after the run; set GATEHOUSE_TEST_ARTIFACTS to keep them)", dir)
		return dir
	}
	if !filepath.IsAbs(root) {
		// Relative to the repository, not to this package's directory,
		// where go test runs.
		root = filepath.Join(moduleRoot(t), root)
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// record keeps what the page reports that a user would never want: a
// console error, an uncaught exception, an error entry of the browser log
// (a failed load, a blocked resource), a CSP violation. It runs in the
// tab's event loop, so it only appends.
func (c *chrome) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError && e.Source != log.EntrySourceSecurity {
			return
		}
		msg = fmt.Sprintf("log %s/%s: %s %s", e.Source, e.Level, e.Text, e.URL)
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, msg)
}

// waitProblem waits (up to a step's time) for a recorded problem that
// contains part; events reach the recorder shortly after they happen.
func (c *chrome) waitProblem(part string) bool {
	deadline := time.Now().Add(chromeStepTimeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, p := range c.problems {
			if strings.Contains(p, part) {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// takeProblems returns what was recorded since the last call and forgets it.
func (c *chrome) takeProblems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.problems
	c.problems = nil
	return p
}

// do runs actions as one named step; on failure the test stops with where
// the browser was, what the page showed, and a screenshot.
func (c *chrome) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.fail(what, err)
	}
}

// fail stops the test with the state of the page.
func (c *chrome) fail(what string, err error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if png, e := chromedp.Run(ctx, chromedp.FullScreenshot(100)); e == nil {
		_ = os.WriteFile(filepath.Join(c.dir, "failure.png"), png, 0o644)
	}
	c.t.Fatalf("%s: %v\nat %s, showing:\n%s", what, err, loc, body)
}

// open navigates to a path of the node.
func (c *chrome) open(path string) {
	c.t.Helper()
	c.do("open "+path, chromedp.Navigate(c.base+path))
}

// clickAndLoad clicks the element sel finds and waits for the page that
// follows (a link, a form's submit, a script that submits).
func clickAndLoad[S chromedp.Selectable](sel S) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(sel, chromedp.NodeVisible))(ctx, t)
		return err
	})
}

// keyAndLoad sends keys to the focused element and waits for the page
// that follows (Enter on a submit button).
func keyAndLoad(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.KeyEvent(keys))(ctx, t)
		return err
	})
}

// screenshot saves a full-page PNG of what the browser shows, numbered in
// the order the test took them.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	c.shot++
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(c.dir, fmt.Sprintf("%02d-%s.png", c.shot, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// path is the path (and query) of the page the browser shows.
func (c *chrome) path() string {
	c.t.Helper()
	loc := c.location()
	return strings.TrimPrefix(loc, c.base)
}

func (c *chrome) location() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		c.t.Fatalf("location: %v", err)
	}
	return loc
}

// text is what the user reads in the element sel finds (visible text only).
func (c *chrome) text(sel chromedp.CSS) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		c.fail("read "+string(sel), err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page, for what the DOM
// knows and the user sees (focus, layout), never to drive the page.
func evalJS[T any](c *chrome, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, chromeStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.fail("evaluate "+expr, err)
	}
	return v
}

// signIn fills and submits the sign-in form on the current page.
func (c *chrome) signIn(username, password string) {
	c.t.Helper()
	c.do("sign in as "+username,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	c.screenshot("sign-in")
	c.do("submit the sign-in form", clickAndLoad(chromedp.CSS(`main form button[type="submit"]`)))
}

// addAuthenticator gives the browser a platform authenticator that keeps
// passkeys and verifies its user (as a laptop's fingerprint reader would),
// answering every request without a prompt.
func (c *chrome) addAuthenticator() webauthn.AuthenticatorID {
	c.t.Helper()
	if _, err := chromedp.Call(c.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		c.t.Fatalf("WebAuthn domain: %v", err)
	}
	res, err := chromedp.Call(c.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		c.t.Fatalf("virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// credentials lists the passkeys the virtual authenticator holds.
func (c *chrome) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	c.t.Helper()
	res, err := chromedp.Call(c.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		c.t.Fatalf("credentials: %v", err)
	}
	return res.Credentials
}
