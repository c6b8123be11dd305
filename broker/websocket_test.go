//go:build !nows

package broker

import (
	"bytes"
	"testing"
)

// RFC 6455 §1.3 and §5.7 examples.
func TestWebSocketRFCExamples(t *testing.T) {
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %s", got)
	}
	// A single-frame masked text message containing "Hello".
	f, n, code := wsParse([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 1024)
	if code != 0 || n != 11 || !f.fin || f.op != wsOpText || string(f.payload) != "Hello" {
		t.Fatalf("%+v %d %d", f, n, code)
	}
	// Unmasked client frames are refused (§5.1).
	if _, _, code := wsParse([]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, 1024); code != wsCloseProtocol {
		t.Fatalf("unmasked frame: %d", code)
	}
	// A fragmented text message: first fragment, then the continuation.
	f, _, _ = wsParse([]byte{0x01, 0x83, 0, 0, 0, 0, 0x48, 0x65, 0x6c}, 1024)
	if f.fin || f.op != wsOpText || string(f.payload) != "Hel" {
		t.Fatalf("fragment %+v", f)
	}
	// Masked ping with "Hello"; a 256-byte frame needs the 16-bit length.
	f, _, _ = wsParse([]byte{0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, 1024)
	if f.op != wsOpPing || string(f.payload) != "Hello" {
		t.Fatalf("ping %+v", f)
	}
	if h := wsAppendHeader(nil, wsOpBinary, 256); !bytes.Equal(h, []byte{0x82, 0x7E, 0x01, 0x00}) {
		t.Fatalf("header % x", h)
	}
	if h := wsAppendHeader(nil, wsOpBinary, 65536); !bytes.Equal(h, []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}) {
		t.Fatalf("header % x", h)
	}
	// Too big for max_packet_size: 1009; partial frames wait.
	if _, _, code := wsParse([]byte{0x82, 0xFE, 0x10, 0x00, 1, 2, 3, 4}, 100); code != wsCloseTooBig {
		t.Fatalf("too big: %d", code)
	}
	if _, n, code := wsParse([]byte{0x82, 0x85, 1, 2}, 100); n != 0 || code != 0 {
		t.Fatal("partial frame consumed")
	}
	// Control frames must not be fragmented or long.
	if _, _, code := wsParse([]byte{0x09, 0x80, 1, 2, 3, 4}, 100); code != wsCloseProtocol {
		t.Fatal("fragmented ping accepted")
	}
}

func TestWebSocketHandshake(t *testing.T) {
	req := "GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\nOrigin: http://ok"
	resp, ok := wsHandshake([]byte(req), nil)
	if !ok || !bytes.Contains(resp, []byte("101 Switching")) || !bytes.Contains(resp, []byte("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) ||
		!bytes.Contains(resp, []byte("Sec-WebSocket-Protocol: mqtt")) {
		t.Fatalf("%q", resp)
	}
	if _, ok := wsHandshake([]byte(req), []string{"http://other"}); ok {
		t.Fatal("origin not checked")
	}
	if _, ok := wsHandshake([]byte("GET / HTTP/1.1\r\nHost: x"), nil); ok {
		t.Fatal("plain HTTP request upgraded")
	}
}

func FuzzWebSocketFrames(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			fr, n, code := wsParse(data, 4096)
			if code != 0 || n == 0 {
				return
			}
			if n > len(data) || len(fr.payload) > 4096 {
				t.Fatalf("bad frame bounds %d/%d", n, len(data))
			}
			data = data[n:]
		}
	})
}

// The HTTP upgrade request is read before the client is anyone: whatever
// it holds, the parser neither panics nor upgrades without the headers.
func FuzzWebSocketHandshake(f *testing.F) {
	f.Add([]byte("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\nOrigin: http://a\r\n\r\n"), "http://a")
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "")
	f.Fuzz(func(t *testing.T, req []byte, origin string) {
		var origins []string
		if origin != "" {
			origins = []string{origin}
		}
		resp, ok := wsHandshake(req, origins)
		if ok && !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("upgraded with %q", resp)
		}
		if ok && !bytes.Contains(bytes.ToLower(req), []byte("sec-websocket-key")) {
			t.Fatal("upgraded without a key")
		}
	})
}
