package packet

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// goldenCase is one named hex packet from testdata/golden.json with the spec
// statement it checks and the expected outcome: "ok", "malformed",
// "protocol", or a reason code like "0x90".
type goldenCase struct {
	Name    string `json:"name"`
	Spec    string `json:"spec"`
	Version byte   `json:"version"`
	Hex     string `json:"hex"`
	Want    string `json:"want"`
	// Session is the broker's answer where it differs from the codec's (used
	// by the broker's loopback test).
	Session    string `json:"session"`
	SessionWhy string `json:"session_why"`
}

func (g goldenCase) bytes(t testing.TB) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(g.Hex), ""))
	if err != nil {
		t.Fatalf("%s: bad hex: %v", g.Name, err)
	}
	return b
}

func loadGolden(t testing.TB) []goldenCase {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// goldenMax is the packet size cap golden cases are decoded with.
const goldenMax = 1 << 20

// decodeAll decodes every whole packet in b; it returns the first error.
func decodeAll(b []byte, version byte) (int, error) {
	var ps Packets
	n := 0
	for len(b) > 0 {
		h, ok, err := ReadHeader(b, goldenMax)
		if err != nil {
			return n, err
		}
		if !ok || len(b) < h.Len() {
			return n, errIncomplete
		}
		if err := ps.Decode(h, b[h.Size:h.Len()], version); err != nil {
			return n, err
		}
		b = b[h.Len():]
		n++
	}
	return n, nil
}

var errIncomplete = errors.New("incomplete packet")

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errIncomplete):
		return "incomplete"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	}
	return fmt.Sprintf("0x%02x", byte(Code(err)))
}

func TestGolden(t *testing.T) {
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			_, err := decodeAll(g.bytes(t), g.Version)
			if got := outcome(err); got != g.Want {
				t.Errorf("%s (%s): got %s (%v), want %s", g.Name, g.Spec, got, err, g.Want)
			}
		})
	}
}
