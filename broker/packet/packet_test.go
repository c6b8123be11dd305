package packet

import (
	"bytes"
	"errors"
	"testing"
)

func TestSentinelCodesUnique(t *testing.T) {
	seen := map[ReasonCode]string{}
	for _, e := range Sentinels {
		if prev, dup := seen[e.Code]; dup {
			t.Errorf("code 0x%02x used by %q and %q", byte(e.Code), prev, e.Msg)
		}
		seen[e.Code] = e.Msg
	}
}

func TestPublishRoundTrip(t *testing.T) {
	var props Properties
	props.Set(PropMessageExpiry)
	props.MessageExpiry = 60
	props.Set(PropContentType)
	props.ContentType = []byte("text/plain")
	props.User = AppendUserProperty(nil, []byte("k1"), []byte("v1"))
	props.User = AppendUserProperty(props.User, []byte("k2"), []byte("v2"))
	props.SubIDs = AppendSubscriptionID(nil, 7)
	props.SubIDs = AppendSubscriptionID(props.SubIDs, 300)
	for _, v := range []byte{Version31, Version311, Version5} {
		in := Publish{QoS: 1, Retain: true, Dup: true, Topic: []byte("a/b"), PacketID: 9, Payload: []byte("hello"), Props: props}
		b := AppendPublish(nil, &in, v)
		if len(b) != PublishLen(&in, v) {
			t.Fatalf("v%d: PublishLen %d, encoded %d", v, PublishLen(&in, v), len(b))
		}
		h, ok, err := ReadHeader(b, 0)
		if !ok || err != nil {
			t.Fatalf("header: %v %v", ok, err)
		}
		var out Publish
		if err := DecodePublish(&out, h.Flags, b[h.Size:], v); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if string(out.Topic) != "a/b" || string(out.Payload) != "hello" || out.PacketID != 9 || !out.Dup || !out.Retain || out.QoS != 1 {
			t.Fatalf("v%d: bad decode %+v", v, out)
		}
		if v == Version5 {
			var keys []string
			out.Props.UserProperties(func(k, v []byte) { keys = append(keys, string(k)+"="+string(v)) })
			if len(keys) != 2 || keys[0] != "k1=v1" || keys[1] != "k2=v2" {
				t.Fatalf("user properties %v", keys)
			}
			var ids []uint32
			out.Props.SubscriptionIDs(func(id uint32) { ids = append(ids, id) })
			if len(ids) != 2 || ids[0] != 7 || ids[1] != 300 {
				t.Fatalf("subscription ids %v", ids)
			}
			if out.Props.MessageExpiry != 60 || string(out.Props.ContentType) != "text/plain" {
				t.Fatalf("props %+v", out.Props)
			}
		}
	}
}

func TestInterleavedUserPropertiesKeepOrder(t *testing.T) {
	// user property, content type, user property: the span covers all
	// three, and accessors and the encoder skip the content type.
	var b []byte
	b = AppendUserProperty(b, []byte("a"), []byte("1"))
	b = append(b, PropContentType, 0, 1, 'x')
	b = AppendUserProperty(b, []byte("b"), []byte("2"))
	body := append([]byte{0, 1, 't', byte(len(b))}, b...)
	var p Publish
	if err := DecodePublish(&p, 0, body, Version5); err != nil {
		t.Fatal(err)
	}
	var got []string
	p.Props.UserProperties(func(k, v []byte) { got = append(got, string(k)+string(v)) })
	if len(got) != 2 || got[0] != "a1" || got[1] != "b2" {
		t.Fatalf("got %v", got)
	}
	re := AppendPublish(nil, &p, Version5)
	h, _, _ := ReadHeader(re, 0)
	var q Publish
	if err := DecodePublish(&q, h.Flags, re[h.Size:], Version5); err != nil {
		t.Fatal(err)
	}
	if string(q.Props.ContentType) != "x" {
		t.Fatalf("content type lost")
	}
	got = got[:0]
	q.Props.UserProperties(func(k, v []byte) { got = append(got, string(k)+string(v)) })
	if len(got) != 2 || got[0] != "a1" || got[1] != "b2" {
		t.Fatalf("re-encoded: got %v", got)
	}
}

func TestConnectRoundTrip(t *testing.T) {
	for _, v := range []byte{Version31, Version311, Version5} {
		in := Connect{Version: v, CleanStart: true, KeepAlive: 30, ClientID: []byte("c1"),
			WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: []byte("w"), WillPayload: []byte("bye"),
			UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("p")}
		if v == Version5 {
			in.Props.Set(PropSessionExpiry)
			in.Props.SessionExpiry = 100
			in.WillProps.Set(PropWillDelay)
			in.WillProps.WillDelay = 5
		}
		b := AppendConnect(nil, &in)
		h, _, _ := ReadHeader(b, 0)
		var out Connect
		if err := DecodeConnect(&out, b[h.Size:]); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if out.Version != v || !out.CleanStart || out.KeepAlive != 30 || string(out.ClientID) != "c1" ||
			!out.WillFlag || out.WillQoS != 1 || !out.WillRetain || string(out.WillTopic) != "w" ||
			string(out.WillPayload) != "bye" || string(out.Username) != "u" || string(out.Password) != "p" {
			t.Fatalf("v%d: %+v", v, out)
		}
		if v == Version5 && (out.Props.SessionExpiry != 100 || out.WillProps.WillDelay != 5) {
			t.Fatalf("props %+v %+v", out.Props, out.WillProps)
		}
	}
}

func TestSubscribeRoundTrip(t *testing.T) {
	subs := []Subscription{{Filter: []byte("a/+"), QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}, {Filter: []byte("#"), QoS: 0}}
	var props Properties
	props.SubIDs = AppendSubscriptionID(nil, 42)
	b := AppendSubscribe(nil, SUBSCRIBE, 5, &props, subs, Version5)
	h, _, err := ReadHeader(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	var p Subscribe
	if err := DecodeSubscribe(&p, h.Type, b[h.Size:], Version5); err != nil {
		t.Fatal(err)
	}
	if p.Count != 2 || p.Props.FirstSubscriptionID() != 42 {
		t.Fatalf("%+v", p)
	}
	var got []Subscription
	p.Filters(func(i int, s Subscription) { got = append(got, s) })
	if string(got[0].Filter) != "a/+" || got[0].QoS != 2 || !got[0].NoLocal || !got[0].RetainAsPublished || got[0].RetainHandling != 2 {
		t.Fatalf("%+v", got[0])
	}
	b = AppendSubscribe(nil, UNSUBSCRIBE, 6, nil, subs, Version311)
	h, _, _ = ReadHeader(b, 0)
	if err := DecodeSubscribe(&p, h.Type, b[h.Size:], Version311); err != nil || p.Count != 2 {
		t.Fatal(err, p.Count)
	}
}

func TestAckEncodingShortForms(t *testing.T) {
	if b := AppendAck(nil, &Ack{Type: PUBACK, PacketID: 1}, Version5); !bytes.Equal(b, []byte{0x40, 2, 0, 1}) {
		t.Fatalf("success ack: % x", b)
	}
	if b := AppendAck(nil, &Ack{Type: PUBREL, PacketID: 1, Reason: PacketIdentifierNotFound}, Version5); !bytes.Equal(b, []byte{0x62, 3, 0, 1, 0x92}) {
		t.Fatalf("pubrel: % x", b)
	}
	if b := AppendDisconnect(nil, DISCONNECT, &Disconnect{Reason: SessionTakenOver}, Version5); !bytes.Equal(b, []byte{0xe0, 1, 0x8e}) {
		t.Fatalf("disconnect: % x", b)
	}
	if b := AppendDisconnect(nil, DISCONNECT, &Disconnect{}, Version311); !bytes.Equal(b, []byte{0xe0, 0}) {
		t.Fatalf("disconnect 3.1.1: % x", b)
	}
}

func TestHeaderCapBeforeBody(t *testing.T) {
	// A claimed length above the cap is refused from the header alone.
	_, _, err := ReadHeader([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}, 1024)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	_, ok, err := ReadHeader([]byte{0x30, 0xff}, 1024)
	if ok || err != nil {
		t.Fatalf("partial header: ok=%v err=%v", ok, err)
	}
}

func TestTopicValidation(t *testing.T) {
	for f, want := range map[string]bool{"a/b": true, "#": true, "a/#": true, "+": true, "+/a/+": true,
		"a#": false, "a/#/b": false, "a+": false, "a/+b": false, "": false, "/": true} {
		if ValidTopicFilter([]byte(f)) != want {
			t.Errorf("filter %q: want %v", f, want)
		}
	}
	for s, want := range map[string]struct{ ok, valid bool }{
		"$share/g/a/#": {true, true}, "$share/g": {true, false}, "$share//a": {true, false},
		"$share/g+/a": {true, false}, "a/b": {false, false}, "$share/g/": {true, false}} {
		_, _, ok, valid := SplitShared([]byte(s))
		if ok != want.ok || valid != want.valid {
			t.Errorf("%q: got %v %v", s, ok, valid)
		}
	}
}

var (
	benchPublish = AppendPublish(nil, &Publish{QoS: 1, PacketID: 7, Topic: []byte("sensors/kitchen/temp"), Payload: []byte("21.5")}, Version311)
	benchPub5    = func() []byte {
		var p Properties
		p.Set(PropMessageExpiry)
		p.MessageExpiry = 30
		p.User = AppendUserProperty(nil, []byte("unit"), []byte("C"))
		return AppendPublish(nil, &Publish{QoS: 1, PacketID: 7, Topic: []byte("sensors/kitchen/temp"), Payload: []byte("21.5"), Props: p}, Version5)
	}()
)

func TestHotPathsAllocateNothing(t *testing.T) {
	var ps Packets
	scratch := make([]byte, 0, 512)
	puback, ping, disc := []byte{0x40, 3, 0, 1, 0x10}, []byte{0xc0, 0}, []byte{0xe0, 1, 4}
	cases := map[string]func(){
		"decode publish 3.1.1": func() { decodeOne(&ps, benchPublish, Version311) },
		"decode publish 5":     func() { decodeOne(&ps, benchPub5, Version5) },
		"decode puback 5":      func() { decodeOne(&ps, puback, Version5) },
		"decode pingreq":       func() { decodeOne(&ps, ping, Version311) },
		"decode disconnect":    func() { decodeOne(&ps, disc, Version5) },
		"encode publish 5": func() {
			decodeOne(&ps, benchPub5, Version5)
			scratch = AppendPublish(scratch[:0], &ps.Publish, Version5)
		},
		"encode puback": func() { scratch = AppendAck(scratch[:0], &Ack{Type: PUBACK, PacketID: 3}, Version5) },
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

func decodeOne(ps *Packets, b []byte, version byte) {
	h, ok, err := ReadHeader(b, 1<<20)
	if !ok || err != nil {
		panic("bad header")
	}
	if err := ps.Decode(h, b[h.Size:h.Len()], version); err != nil {
		panic(err)
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	var ps Packets
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPub5)))
	for b.Loop() {
		decodeOne(&ps, benchPub5, Version5)
	}
}

func BenchmarkEncodePublish(b *testing.B) {
	var ps Packets
	decodeOne(&ps, benchPub5, Version5)
	scratch := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		scratch = AppendPublish(scratch[:0], &ps.Publish, Version5)
	}
}

func BenchmarkDecodeAck(b *testing.B) {
	var ps Packets
	pkt := []byte{0x40, 2, 0, 1}
	b.ReportAllocs()
	for b.Loop() {
		decodeOne(&ps, pkt, Version311)
	}
}

func TestReadPacketFromStream(t *testing.T) {
	pub := AppendPublish(nil, &Publish{Topic: []byte("a/b"), Payload: []byte("hi"), QoS: 1, PacketID: 7}, Version311)
	stream := bytes.NewReader(append(append([]byte{}, pub...), 0xc0, 0x00)) // PUBLISH then PINGREQ
	h, body, err := ReadPacket(stream, 0)
	if err != nil || h.Type != PUBLISH || !bytes.Equal(body, pub[h.Size:]) {
		t.Fatalf("publish: %v %+v %x", err, h, body)
	}
	h, body, err = ReadPacket(stream, 0)
	if err != nil || h.Type != PINGREQ || len(body) != 0 {
		t.Fatalf("pingreq: %v %+v", err, h)
	}
	// A remaining length with a fifth continuation byte is refused after
	// five bytes, never read further.
	bad := bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00})
	if _, _, err := ReadPacket(bad, 0); !errors.Is(err, ErrMalformed) || bad.Len() != 2 {
		t.Fatalf("overlong header: %v, %d bytes left", err, bad.Len())
	}
	// A body cut short is an error, not a short packet.
	if _, _, err := ReadPacket(bytes.NewReader(pub[:len(pub)-1]), 0); err == nil {
		t.Fatal("truncated body read without error")
	}
}

func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "a/b": false, "é\u00a0ÿ€": false,
		"\x01": true, "a\nb": true, "\x1f": true, "\x7f": true, "\u0080": true, "\u009f": true,
	} {
		if HasControl([]byte(s)) != want {
			t.Errorf("HasControl(%q) != %v", s, want)
		}
	}
}
