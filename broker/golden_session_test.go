package broker_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"midge/broker/packet"
	"midge/internal/testutil"
)

// TestGoldenOverLoopback sends every packet of the codec's golden table to
// a running broker, from the state where a client would send it, and checks
// the broker's answer agrees with the table: accepted packets keep the
// connection, refused ones get the table's reason code (5.0) or a close.
func TestGoldenOverLoopback(t *testing.T) {
	raw, err := os.ReadFile("packet/testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	// Session, where set, is the broker's answer when it differs from the
	// codec's (the packet decodes, but is wrong in that session's state).
	var cases []struct {
		Name, Spec, Hex, Want, Session string
		Version                        byte
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	_, addr := testutil.StartBroker(t, nil)
	codes := map[string]int{"malformed": 0x81, "protocol": 0x82}
	for _, g := range cases {
		data, _ := hex.DecodeString(strings.Join(strings.Fields(g.Hex), ""))
		typ := packet.Type(data[0] >> 4)
		switch typ {
		case packet.CONNACK, packet.SUBACK, packet.UNSUBACK, packet.PINGRESP, 0:
			continue // not a client's packet (covered by the bad input test)
		}
		t.Run(g.Name, func(t *testing.T) {
			r := testutil.Dial(t, addr)
			if typ != packet.CONNECT {
				r.Connect(&packet.Connect{Version: g.Version, ClientID: []byte("golden"), CleanStart: true})
			}
			r.Send(data)
			if g.Session != "" {
				g.Want = g.Session
			}
			if g.Want == "closed" {
				r.ExpectReason(2*time.Second, -1)
				return
			}
			want, isCode := codes[g.Want]
			if strings.HasPrefix(g.Want, "0x") {
				b, _ := hex.DecodeString(g.Want[2:])
				want, isCode = int(b[0]), true
			}
			if g.Want == "ok" {
				// Still connected: a PINGREQ is answered (after any acks).
				r.Send(packet.AppendPingreq(nil))
				for {
					h, _ := r.Read(2 * time.Second)
					if h.Type == packet.PINGRESP {
						return
					}
					if h.Type == packet.DISCONNECT {
						t.Fatalf("%s (%s): accepted packet got DISCONNECT", g.Name, g.Spec)
					}
				}
			}
			if !isCode {
				t.Fatalf("unknown want %q", g.Want)
			}
			expectV5 := g.Version == packet.Version5 || (typ == packet.CONNECT && want == 0x84)
			switch {
			case typ == packet.CONNECT && want == 0x84 && g.Version != packet.Version5:
				r.ExpectReason(2*time.Second, 1) // 3.1.1 CONNACK: unacceptable protocol version
			case typ == packet.CONNECT && g.Version != packet.Version5:
				r.ExpectReason(2*time.Second, -1) // malformed 3.1.1 CONNECT: close, no CONNACK
			case expectV5:
				r.ExpectReason(2*time.Second, want)
			default:
				r.ExpectReason(2*time.Second, -1) // 3.1.1: a plain close
			}
		})
	}
}
