package report_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReportInABrowser opens report.html in a real headless Chromium and
// checks what a reader would see: no console errors and every image
// displayed (naturalWidth > 0). Chromium is driven over the DevTools
// protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON on file
// descriptors 3 and 4), which needs no WebSocket client and no port.
//
// It is skipped when Chromium is not installed (.ci/run installs it;
// make deps does not); set REPORT_SCREENSHOT=FILE.png to keep a full-page
// screenshot.
func TestReportInABrowser(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install chromium): the report is not checked in a browser")
	}
	dir := writeFixture(t)
	b := startBrowser(t, bin)

	target := b.call(t, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	attached := b.call(t, "", "Target.attachToTarget", map[string]any{"targetId": target["targetId"], "flatten": true})
	session, _ := attached["sessionId"].(string)
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		b.call(t, session, m, nil)
	}
	b.call(t, session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false})
	b.call(t, session, "Page.navigate", map[string]any{"url": "file://" + filepath.Join(dir, "report.html")})
	if !b.waitEvent("Page.loadEventFired", 30*time.Second) {
		t.Fatal("report.html did not finish loading in 30 s")
	}

	res := b.call(t, session, "Runtime.evaluate", map[string]any{"returnByValue": true, "expression": `JSON.stringify(
		Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight})))`})
	var imgs []struct {
		Alt      string
		Complete bool
		W, H     int
	}
	value, _ := res["result"].(map[string]any)["value"].(string)
	if err := json.Unmarshal([]byte(value), &imgs); err != nil {
		t.Fatalf("images: %v (%q)", err, value)
	}
	if len(imgs) != 4 {
		t.Errorf("the page shows %d images, want 4", len(imgs))
	}
	for _, im := range imgs {
		if !im.Complete || im.W != 1600 || im.H != 900 {
			t.Errorf("image %q: complete=%v %dx%d, want displayed at 1600x900", im.Alt, im.Complete, im.W, im.H)
		}
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console: %s", e)
	}

	if out := os.Getenv("REPORT_SCREENSHOT"); out != "" {
		m := b.call(t, session, "Page.getLayoutMetrics", nil)
		size, _ := m["cssContentSize"].(map[string]any)
		h, _ := size["height"].(float64)
		shot := b.call(t, session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
			"clip": map[string]any{"x": 0, "y": 0, "width": 1280, "height": h, "scale": 1}})
		png, err := base64.StdEncoding.DecodeString(shot["data"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (1280 x %.0f)", out, h)
	}
}

// browser is a headless Chromium spoken to over its DevTools pipe.
type browser struct {
	cmd *exec.Cmd
	in  *os.File // our end of its fd 3: commands
	mu  sync.Mutex
	// mu guards the fields below, filled by the reading goroutine.
	next    int
	replies map[int]chan map[string]any
	events  []string
	errors  []string
	arrived chan struct{}
}

func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
		"--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW} // fd 3 and fd 4 of the child
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	outW.Close()
	b := &browser{cmd: cmd, in: cmdW, replies: map[int]chan map[string]any{}, arrived: make(chan struct{}, 1)}
	t.Cleanup(func() {
		b.send("", "Browser.close", nil)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmdW.Close()
	})
	go b.read(outR)
	return b
}

// read takes the browser's messages: replies go to their callers, events
// are kept, console and log errors collected.
func (b *browser) read(r *os.File) {
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID     int            `json:"id"`
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
			Result map[string]any `json:"result"`
			Error  map[string]any `json:"error"`
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.replies[m.ID]; ok {
				if m.Error != nil {
					m.Result = map[string]any{"error": m.Error}
				}
				ch <- m.Result
				delete(b.replies, m.ID)
			}
		} else {
			b.events = append(b.events, m.Method)
			if e := errorOf(m.Method, m.Params); e != "" {
				b.errors = append(b.errors, e)
			}
			select {
			case b.arrived <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
	}
}

// errorOf says what went wrong in a console or log event, or "".
func errorOf(method string, p map[string]any) string {
	switch method {
	case "Runtime.exceptionThrown":
		d, _ := json.Marshal(p["exceptionDetails"])
		return "exception: " + string(d)
	case "Runtime.consoleAPICalled":
		if p["type"] == "error" || p["type"] == "assert" {
			d, _ := json.Marshal(p["args"])
			return "console.error: " + string(d)
		}
	case "Log.entryAdded":
		e, _ := p["entry"].(map[string]any)
		if e["level"] == "error" {
			return fmt.Sprintf("%v: %v %v", e["source"], e["text"], e["url"])
		}
	}
	return ""
}

func (b *browser) send(session, method string, params map[string]any) chan map[string]any {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan map[string]any, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	j, _ := json.Marshal(msg)
	b.in.Write(append(j, 0))
	return ch
}

// call sends a command and waits for its reply.
func (b *browser) call(t *testing.T, session, method string, params map[string]any) map[string]any {
	t.Helper()
	select {
	case r := <-b.send(session, method, params):
		if e, ok := r["error"]; ok {
			t.Fatalf("%s: %v", method, e)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no reply from the browser in 30 s", method)
	}
	return nil
}

// waitEvent waits until the browser has sent an event named method.
func (b *browser) waitEvent(method string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		seen := strings.Contains("\n"+strings.Join(b.events, "\n")+"\n", "\n"+method+"\n")
		b.mu.Unlock()
		if seen {
			return true
		}
		select {
		case <-b.arrived:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			return false
		}
	}
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}
