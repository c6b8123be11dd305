package broker

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"midge/broker/packet"
)

// maxExpiry is MQTT 5's "never expires" session expiry value.
const maxExpiry = 0xFFFFFFFF

var (
	errIDRejected   = &packet.FieldError{Packet: packet.CONNECT, Field: "client identifier", Err: packet.ErrClientID}
	errKeepAlive    = &packet.FieldError{Packet: packet.CONNECT, Field: "keep alive above max_keepalive", Err: packet.ErrClientID}
	errWillRetain   = &refusal{packet.RetainNotSupported, "will retain: retain not available"}
	errNotAuthed    = &refusal{packet.NotAuthorized, "not authorised"}
	errBadLogin     = &refusal{packet.BadUserNameOrPassword, "bad user name or password"}
	errWillSysTopic = &refusal{packet.NotAuthorized, "will topic in $SYS"}
	errAuthMethod   = &refusal{packet.BadAuthenticationMethod, "unknown authentication method"}
	errWillDenied   = &refusal{packet.NotAuthorized, "will topic not authorised"}
	errNoCert       = &refusal{packet.NotAuthorized, "no client certificate"}
	errWillQoS      = &refusal{packet.QoSNotSupported, "will QoS above max_qos"}
)

// refusal is a CONNECT the broker refuses for a reason other than a
// malformed packet; it maps to a 5.0 reason code and a 3.1.1 return code.
type refusal struct {
	code packet.ReasonCode
	msg  string
}

func (r *refusal) Error() string { return r.msg }

func connectCode(err error) packet.ReasonCode {
	var r *refusal
	if errors.As(err, &r) {
		return r.code
	}
	return packet.Code(err)
}

// sendConnack sends CONNACK. For 3.1/3.1.1 refusals only the codes the old
// protocols have are sent; a malformed CONNECT is closed without CONNACK.
func (c *conn) sendConnack(present bool, code packet.ReasonCode, props *packet.Properties) {
	ack := packet.Connack{SessionPresent: present, Reason: byte(code)}
	if c.version != packet.Version5 {
		switch code {
		case packet.Success, packet.UnsupportedProtocolVersion, packet.ClientIdentifierNotValid,
			packet.BadUserNameOrPassword, packet.NotAuthorized, packet.ServerUnavailable,
			packet.UseAnotherServer, packet.ServerMoved, packet.ServerBusy:
			ack.Reason = packet.V3ConnackCode(code)
		default:
			return
		}
	} else if props != nil {
		ack.Props = *props
	}
	c.send(packet.AppendConnack(c.b.scratch[:0], &ack, c.version))
}

// refuse answers a refused CONNECT with CONNACK and closes the connection.
// A nil error, or errAnswered (answered or suspended), passes through.
func (c *conn) refuse(err error) error {
	if err == nil || err == errAnswered {
		return nil
	}
	b := c.b
	b.log.Noticef("Client %s refused: %v.", c.from(), err)
	c.sendConnack(false, connectCode(err), nil)
	c.b.disconnect(c, false)
	return nil
}

// A CONNECT goes through three stages: check (decode, protocol and listener
// rules), authenticate (a client certificate, an enhanced AUTH exchange or
// the auth chain; the last two may suspend until their answer comes), and
// admit (will checks, the session, CONNACK). A suspended CONNECT is kept as
// a connectReq and resumes at the step after the one that suspended it:
// nothing is checked twice.

// connectReq is a CONNECT between its stages.
type connectReq struct {
	p         *packet.Connect // views into the read buffer, or into body once kept
	body      []byte          // the kept CONNECT (nil while handled in place)
	id        string
	assigned  bool   // the broker made the id up
	ka        int    // keep alive in force
	serverKA  bool   // ka is the broker's, announced as Server Keep Alive
	user      string // the user name: the client's, a certificate's, an exchange's or a token's
	hasUser   bool
	authed    bool // a certificate, an AUTH exchange or a hook vouched for the client
	authReply []byte
	res       authResult
}

// keep makes the request outlive the read buffer: the CONNECT is copied and
// decoded again from the copy (it decoded once, so it cannot fail).
func (r *connectReq) keep(body []byte) *connectReq {
	k := *r
	k.body = append([]byte(nil), body...)
	k.p = new(packet.Connect)
	packet.DecodeConnect(k.p, k.body)
	return &k
}

func (r *connectReq) setUser(name string) { r.user, r.hasUser = name, true }

func (c *conn) client(r *connectReq) Client {
	return Client{ID: r.id, Username: r.user, Anonymous: !r.hasUser, Listener: int(c.ln.idx), Remote: c.remote}
}

// errAnswered tells handleConnect that a stage has answered the client
// (a redirect) or suspended the request.
var errAnswered = errors.New("answered")

// handleConnect runs a CONNECT through check, authenticate and admit.
func (c *conn) handleConnect(flags byte, body []byte) error {
	p := &c.b.ps.Connect
	err := packet.DecodeConnect(p, body)
	if err == nil {
		err = packet.CheckConnectFlags(p, flags)
	}
	switch p.Version {
	case packet.Version31, packet.Version311, packet.Version5:
		c.version = p.Version
	default:
		c.version = packet.Version311 // answer unknown levels in the 3.1.1 format
	}
	if err != nil {
		if errors.Is(err, packet.ErrUnsupportedVersion) || c.version == packet.Version5 {
			return c.refuse(err)
		}
		return err
	}
	req := connectReq{p: p}
	if err := c.checkConnect(&req); err != nil {
		return c.refuse(err)
	}
	if err := c.authenticate(&req, body); err != nil {
		return c.refuse(err)
	}
	return c.refuse(c.admit(&req))
}

// checkConnect applies the rules that need no identity: a redirecting
// listener, a known authentication method, the client id and keep alive.
func (c *conn) checkConnect(r *connectReq) error {
	b, cfg, p := c.b, c.b.cfg, r.p
	// A listener that redirects answers every 5.0 client with the other
	// server's reference (3.x clients have no such code: server unavailable).
	if ref := c.ln.cfg.ServerReference; ref != "" {
		code := packet.UseAnotherServer
		if c.ln.cfg.ServerMoved {
			code = packet.ServerMoved
		}
		var props packet.Properties
		props.Set(packet.PropServerReference)
		props.ServerReference = []byte(ref)
		b.log.Noticef("Client %s redirected to %s.", c.from(), ref)
		c.sendConnack(false, code, &props)
		b.disconnect(c, false)
		return errAnswered
	}
	if p.Props.Has(packet.PropAuthMethod) && b.auth[string(p.Props.AuthMethod)] == nil {
		return errAuthMethod
	}
	sec := c.ln.sec
	r.id = string(p.ClientID)
	if r.id == "" {
		switch {
		case !sec.AllowZeroLengthClientID, c.version == packet.Version31,
			c.version == packet.Version311 && !p.CleanStart: // [MQTT-3.1.3-8]
			return errIDRejected
		}
		r.id, r.assigned = sec.AutoIDPrefix+randomID(), true
	}
	// Keep alive against max_keepalive (Mosquitto: 3.x refused, 5.0 told).
	r.ka = int(p.KeepAlive)
	if r.ka > cfg.MaxKeepalive || (r.ka == 0 && cfg.MaxKeepalive < 65535 && c.version == packet.Version5) {
		if c.version != packet.Version5 {
			return errKeepAlive
		}
		r.ka, r.serverKA = cfg.MaxKeepalive, true
	}
	if p.UsernameFlag {
		r.setUser(string(p.Username))
	}
	return nil
}

// authenticate establishes who the client is: a certificate taken as the
// user name, an enhanced AUTH exchange, or the auth chain. The exchange
// and the credential verifier suspend the request (errAnswered); it
// resumes in authExchanged or loginVerified.
func (c *conn) authenticate(r *connectReq, body []byte) error {
	b, p := c.b, r.p
	// A listener that takes the client certificate as the user name:
	// the certificate authenticates, no password is checked.
	if lc := c.ln.cfg; lc.UseIdentityAsUsername || lc.UseSubjectAsUsername {
		cert := c.certID()
		if !cert.present {
			return errNoCert
		}
		name := cert.cn
		if lc.UseSubjectAsUsername {
			name = cert.dn
		}
		r.setUser(name)
		r.authed = true
	}
	if a := b.auth[string(p.Props.AuthMethod)]; a != nil && p.Props.Has(packet.PropAuthMethod) {
		// Enhanced authentication [MQTT-4.12]: the request waits for the
		// AUTH packets when the exchange takes more than one step.
		st := &authState{method: string(p.Props.AuthMethod), x: a.Begin(c.client(r))}
		c.ext().auth = st
		reply, done, err := st.x.Step(p.Props.AuthData)
		if err != nil {
			return &refusal{authCode(err), err.Error()}
		}
		if !done {
			st.req = r.keep(body)
			c.sendAuth(packet.ContinueAuthentication, reply)
			return errAnswered
		}
		c.authExchanged(r, reply)
		return nil
	}
	if r.authed {
		return nil
	}
	d, err := c.login(r, body)
	if err != nil {
		return err
	}
	return c.judge(r, d)
}

// authExchanged completes a request whose AUTH exchange succeeded.
func (c *conn) authExchanged(r *connectReq, reply []byte) {
	st := c.authS()
	if u, ok := st.x.(interface{ AuthenticatedUser() string }); ok {
		st.user = u.AuthenticatedUser()
	}
	st.x, st.req = nil, nil
	r.authReply, r.authed = reply, true
	if st.user != "" {
		r.setUser(st.user)
	}
}

// login asks the auth chain about a CONNECT that neither a certificate nor
// an AUTH exchange authenticated. The built-in credential checks run on the
// verifier (errAnswered: the request resumes in loginVerified).
func (c *conn) login(r *connectReq, body []byte) (Decision, error) {
	b, p, sec := c.b, r.p, c.ln.sec
	var password []byte
	if p.PasswordFlag {
		password = p.Password
	}
	if src := c.remote.Addr(); c.counted(r) && b.credentialChecks(sec) && b.logins.blocked(src, b.now) {
		b.logins.failed(src, b.now)
		b.log.Noticef("Client %s from %s: too many failed logins, refused.", r.id, c.from())
		return Defer, errBadLogin
	}
	cl := c.client(r)
	d := b.authenticate(cl, password)
	if d == Defer && len(sec.authn) > 0 {
		if (p.UsernameFlag || p.PasswordFlag) && b.verifyQ != nil {
			return Defer, c.verifyAsync(sec, cl, password, r.keep(body)) // slow hashes run off the loop
		}
		d = authenticateWith(sec.authn, cl, password, &r.res)
	}
	return d, nil
}

// counted reports whether a failed login of r counts against its source
// address (unix socket clients have none).
func (c *conn) counted(r *connectReq) bool {
	return (r.p.UsernameFlag || r.p.PasswordFlag) && c.remote.Addr().IsValid()
}

// judge turns the auth chain's decision into a refusal or a login: Allow
// authenticates, Deny refuses, and when every hook deferred
// allow_anonymous decides, also for a user name nothing could check.
func (c *conn) judge(r *connectReq, d Decision) error {
	b, p, src := c.b, r.p, c.remote.Addr()
	switch d {
	case Allow:
		if c.counted(r) {
			b.logins.succeeded(src)
		}
		r.authed = true
	case Deny:
		if !p.UsernameFlag && !p.PasswordFlag {
			return errNotAuthed
		}
		if c.counted(r) {
			b.logins.failed(src, b.now)
		}
		b.log.Noticef("Client %s from %s: credentials refused (user %q).", r.id, c.from(), p.Username)
		return errBadLogin
	default:
		switch {
		case c.ln.sec.AllowAnonymous:
		case !p.UsernameFlag:
			return errNotAuthed
		default:
			return errBadLogin
		}
	}
	if !r.hasUser && r.res.username != "" { // a token's subject names the user
		r.setUser(r.res.username)
	}
	return nil
}

// admit lets an authenticated client in: the will's rules, the session
// (new, resumed, or taken over), and CONNACK.
func (c *conn) admit(r *connectReq) error {
	b, cfg, p := c.b, c.b.cfg, r.p
	if p.WillFlag {
		if p.WillRetain && !cfg.RetainAvailable {
			return errWillRetain
		}
		if int(p.WillQoS) > c.maxQoS() {
			return errWillQoS
		}
		if strings.HasPrefix(string(p.WillTopic), "$SYS") {
			return errWillSysTopic
		}
	}
	id := r.id
	if c.ln.cfg.UseUsernameAsClientID {
		if !r.hasUser || r.user == "" {
			return errNotAuthed
		}
		id, r.assigned = r.user, false
	}
	anonymous := !r.hasUser && !r.authed
	if p.WillFlag {
		who := session{id: id, anonymous: anonymous, lnIdx: c.ln.idx}
		who.setIdent(r.user, r.res.claims, 0)
		if !b.allowed(&who, AccessPublish, p.WillTopic) {
			return errWillDenied
		}
	}
	// Take over a connected session [MQTT-3.1.4-3].
	s := b.sessions[id]
	if s != nil && s.conn != nil {
		old := s.conn
		b.log.Noticef("Client %s already connected, closing old connection.", id)
		old.sendDisconnect(packet.SessionTakenOver)
		b.disconnect(old, false)
		s = b.sessions[id] // closing may have ended it
	}
	if s != nil && p.CleanStart {
		b.endSession(s)
		s = nil
	}
	present := s != nil
	if s == nil {
		s = newSession(b, id)
		b.sessions[id] = s
	}
	b.wheel.Stop(&s.timer)
	s.willDue, s.expDue = 0, 0
	s.will = nil // a delayed will of the previous connection is not sent
	s.version = c.version
	s.lnIdx = c.ln.idx
	s.anonymous = anonymous
	s.setIdent(r.user, r.res.claims, r.res.cred)
	s.conn = c
	c.sess = s

	// Session expiry, capped by max_session_expiry.
	cap := uint32(cfg.MaxSessionExpiry.D() / time.Second)
	var expiry uint32
	switch {
	case c.version == packet.Version5:
		expiry = p.Props.SessionExpiry
	case !p.CleanStart:
		expiry = maxExpiry
	}
	capped := false
	if expiry > cap {
		expiry, capped = cap, c.version == packet.Version5
	}
	if c.version != packet.Version5 && !p.CleanStart && cfg.PersistentClientExpiration > 0 {
		expiry = min(expiry, uint32(cfg.PersistentClientExpiration.D()/time.Second))
	}
	s.expiry = expiry
	b.storeSession(s)

	if p.WillFlag {
		s.will = newMessage(p.WillTopic, p.WillPayload, p.WillQoS, p.WillRetain, &p.WillProps, b.now)
		s.willDelay = p.WillProps.WillDelay
	}

	c.recvMax = 65535
	if p.Props.ReceiveMaximum > 0 {
		c.recvMax = p.Props.ReceiveMaximum
	}
	c.maxPacket = p.Props.MaximumPacketSize
	c.problemInfo = !p.Props.Has(packet.PropRequestProblemInfo) || p.Props.RequestProblemInfo == 1
	if r.ka > 0 {
		c.keepAlive = time.Duration(r.ka) * 1500 * time.Millisecond // [MQTT-3.1.2-24] 1.5 x
	}
	c.state = stateConnected
	var props packet.Properties
	c.connackProps(&props, r, id, expiry, capped)
	c.sendConnack(present, packet.Success, &props)
	b.stats.Connected++
	b.stats.Total++
	if b.stats.Connected > b.stats.MaxConnected {
		b.stats.MaxConnected = b.stats.Connected
	}
	b.wheel.Stop(&c.timer)
	if c.keepAlive > 0 {
		b.wheel.Schedule(&c.timer, b.now, c.keepAlive)
	}
	if r.hasUser {
		b.log.Noticef("New client connected from %s as %s (p%d, c%d, k%d, u'%s').", c.from(), id, c.version, b2i(p.CleanStart), r.ka, r.user)
	} else {
		b.log.Noticef("New client connected from %s as %s (p%d, c%d, k%d).", c.from(), id, c.version, b2i(p.CleanStart), r.ka)
	}
	if present {
		s.resend()
		s.pump()
	}
	return nil
}

// connackProps are the 5.0 CONNACK's properties: what the broker assigned
// or capped, and the limits the client must respect.
func (c *conn) connackProps(props *packet.Properties, r *connectReq, id string, expiry uint32, capped bool) {
	if c.version != packet.Version5 {
		return
	}
	cfg, p := c.b.cfg, r.p
	if r.assigned {
		props.Set(packet.PropAssignedClientID)
		props.AssignedClientID = []byte(id)
	}
	if r.serverKA {
		props.Set(packet.PropServerKeepAlive)
		props.ServerKeepAlive = uint16(r.ka)
	}
	if capped {
		props.Set(packet.PropSessionExpiry)
		props.SessionExpiry = expiry
	}
	props.Set(packet.PropReceiveMaximum)
	props.ReceiveMaximum = uint16(cfg.MaxInflightMessages)
	if am := c.inboundAliasMax(); am > 0 {
		props.Set(packet.PropTopicAliasMaximum)
		props.TopicAliasMaximum = uint16(am)
		c.aliasMax = uint16(am)
	}
	c.outAliasMax = p.Props.TopicAliasMaximum
	if mq := c.maxQoS(); mq < 2 {
		props.Set(packet.PropMaximumQoS)
		props.MaximumQoS = byte(mq)
	}
	if st := c.authS(); st != nil { // enhanced authentication completed
		props.Set(packet.PropAuthMethod)
		props.AuthMethod = []byte(st.method)
		if r.authReply != nil {
			props.Set(packet.PropAuthData)
			props.AuthData = r.authReply
		}
	}
	if p.Props.RequestResponseInfo == 1 && cfg.ResponseInformation != "" {
		props.Set(packet.PropResponseInfo) // [MQTT-3.1.2-28]
		props.ResponseInfo = []byte(cfg.ResponseInformation + id)
	}
	if cfg.MaxPacketSize < packet.MaxRemainingLength {
		props.Set(packet.PropMaximumPacketSize)
		props.MaximumPacketSize = uint32(cfg.MaxPacketSize)
	}
	if !cfg.RetainAvailable {
		props.Set(packet.PropRetainAvailable)
		props.RetainAvailable = 0
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// randomID makes the random part of an assigned client id. Ids need to be
// unique, not secret, so math/rand (ChaCha8, seeded by the runtime) serves
// and keeps crypto out of builds without TLS.
func randomID() string {
	var r [12]byte
	for i := 0; i < len(r); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8 && i+j < len(r); j++ {
			r[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(r[:])
}
