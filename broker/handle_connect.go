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

func (c *conn) refuse(err error) error {
	b := c.b
	b.log.Noticef("Client %s refused: %v.", c.from(), err)
	c.sendConnack(false, connectCode(err), nil)
	c.b.disconnect(c, false)
	return nil
}

// login runs the auth chain for a CONNECT that neither a certificate nor an
// AUTH exchange authenticated: an error refuses the client, authed reports
// that a hook vouched for it. Failed logins are counted per source address.
func (c *conn) login(sec *security, id string, p *packet.Connect, body []byte, r *authResult) (authed bool, err error) {
	b := c.b
	var password []byte
	if p.PasswordFlag {
		password = p.Password
	}
	creds := p.UsernameFlag || p.PasswordFlag
	src := c.remote.Addr()
	counted := creds && src.IsValid() // unix socket clients have no address to count by
	var d Decision
	if pl := c.pendingLogin(); pl != nil && pl.done {
		d, *r = pl.d, pl.res // the verifier's answer; the hooks ahead of it deferred
	} else {
		if counted && b.credentialChecks(sec) && b.logins.blocked(src, b.now) {
			b.logins.failed(src, b.now)
			b.log.Noticef("Client %s from %s: too many failed logins, refused.", id, c.from())
			return false, errBadLogin
		}
		cl := Client{ID: id, Username: string(p.Username), Anonymous: !p.UsernameFlag, Listener: int(c.ln.idx), Remote: c.remote}
		if d = b.authenticate(cl, password); d == Defer && len(sec.authn) > 0 {
			if creds && b.verifyQ != nil {
				return false, c.verifyAsync(sec, cl, password, body) // slow hashes run off the loop
			}
			d = authenticateWith(sec.authn, cl, password, r)
		}
	}
	switch d {
	case Allow:
		if counted {
			b.logins.succeeded(src)
		}
		return true, nil
	case Deny:
		if !creds {
			return false, errNotAuthed
		}
		if counted {
			b.logins.failed(src, b.now)
		}
		b.log.Noticef("Client %s from %s: credentials refused (user %q).", id, c.from(), p.Username)
		return false, errBadLogin
	}
	// Every hook deferred: allow_anonymous decides, also for a user name
	// nothing could check.
	switch {
	case sec.AllowAnonymous:
		return false, nil
	case !p.UsernameFlag:
		return false, errNotAuthed
	}
	return false, errBadLogin
}

// handleConnect authenticates the client, resolves its session (new,
// resumed, or taken over) and answers with CONNACK.
func (c *conn) handleConnect(body []byte) error {
	b := c.b
	cfg := b.cfg
	p := &c.b.ps.Connect
	err := packet.DecodeConnect(p, body)
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
		c.b.disconnect(c, false)
		return nil
	}
	if p.Props.Has(packet.PropAuthMethod) && b.auth[string(p.Props.AuthMethod)] == nil {
		return c.refuse(errAuthMethod)
	}
	sec := c.ln.sec
	// Client identifier rules.
	id := string(p.ClientID)
	assigned := false
	if id == "" {
		switch {
		case !sec.AllowZeroLengthClientID, c.version == packet.Version31,
			c.version == packet.Version311 && !p.CleanStart: // [MQTT-3.1.3-8]
			return c.refuse(errIDRejected)
		}
		id = sec.AutoIDPrefix + randomID()
		if pl := c.pendingLogin(); pl != nil && pl.done {
			id = pl.client.ID // the id the verified login was made with
		}
		assigned = true
	}
	// Keep alive against max_keepalive (Mosquitto: 3.x refused, 5.0 told).
	ka := int(p.KeepAlive)
	serverKA := false
	if ka > cfg.MaxKeepalive || (ka == 0 && cfg.MaxKeepalive < 65535 && c.version == packet.Version5) {
		if c.version != packet.Version5 {
			return c.refuse(errKeepAlive)
		}
		ka, serverKA = cfg.MaxKeepalive, true
	}
	var authReply []byte
	authed := false
	// A listener that takes the client certificate as the user name:
	// the certificate authenticates, no password is checked.
	if lc := c.ln.cfg; lc.UseIdentityAsUsername || lc.UseSubjectAsUsername {
		cert := c.certID()
		if !cert.present {
			return c.refuse(errNoCert)
		}
		name := cert.cn
		if lc.UseSubjectAsUsername {
			name = cert.dn
		}
		p.UsernameFlag, p.Username = true, []byte(name)
		authed = true
	}
	if a := b.auth[string(p.Props.AuthMethod)]; a != nil && p.Props.Has(packet.PropAuthMethod) {
		if c.authS() == nil || !c.authS().done {
			// Enhanced authentication [MQTT-4.12]: keep the CONNECT and
			// continue when the exchange completes (AUTH packets).
			c.ext().auth = &authState{method: string(p.Props.AuthMethod), x: a.Begin(Client{ID: id, Username: string(p.Username), Anonymous: !p.UsernameFlag, Listener: int(c.ln.idx), Remote: c.remote})}
			reply, done, err := c.authS().x.Step(p.Props.AuthData)
			if err != nil {
				return c.refuse(&refusal{authCode(err), err.Error()})
			}
			if !done {
				c.authS().connect = append([]byte(nil), body...)
				c.sendAuth(packet.ContinueAuthentication, reply)
				return nil
			}
			c.authS().reply = reply
		}
		st := c.authS()
		if u, ok := st.x.(interface{ AuthenticatedUser() string }); ok && st.x != nil {
			st.user = u.AuthenticatedUser()
		}
		authReply, authed = st.reply, true
		if st.user != "" {
			p.UsernameFlag, p.Username = true, []byte(st.user)
		}
		st.x, st.done, st.reply, st.connect = nil, false, nil, nil
	}
	var res authResult
	if !authed {
		var err error
		if authed, err = c.login(sec, id, p, body, &res); err != nil {
			if err == errLoginPending {
				return nil // handled again when the verifier answers
			}
			return c.refuse(err)
		}
		if !p.UsernameFlag && res.username != "" { // a token's subject names the user
			p.UsernameFlag, p.Username = true, []byte(res.username)
		}
	}
	if p.WillFlag {
		if p.WillRetain && !cfg.RetainAvailable {
			return c.refuse(errWillRetain)
		}
		if int(p.WillQoS) > c.maxQoS() {
			return c.refuse(errWillQoS)
		}
		if strings.HasPrefix(string(p.WillTopic), "$SYS") {
			return c.refuse(errWillSysTopic)
		}
	}

	if c.ln.cfg.UseUsernameAsClientID {
		if !p.UsernameFlag || len(p.Username) == 0 {
			return c.refuse(errNotAuthed)
		}
		id, assigned = string(p.Username), false
	}
	if p.WillFlag {
		who := session{id: id, anonymous: !p.UsernameFlag && !authed, lnIdx: c.ln.idx}
		who.setIdent(string(p.Username), res.claims, 0)
		if !b.allowed(&who, AccessPublish, p.WillTopic) {
			return c.refuse(errWillDenied)
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
	b.wheel.stop(&s.timer)
	s.willDue, s.expDue = 0, 0
	if s.will != nil { // a delayed will of the previous connection is not sent
		s.will = nil
	}
	s.version = c.version
	s.lnIdx = c.ln.idx
	s.anonymous = !p.UsernameFlag && !authed
	s.setIdent(string(p.Username), res.claims, res.cred)
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
	if ka > 0 {
		c.keepAlive = time.Duration(ka) * 1500 * time.Millisecond // [MQTT-3.1.2-24] 1.5 x
	}

	var props packet.Properties
	if c.version == packet.Version5 {
		if assigned {
			props.Set(packet.PropAssignedClientID)
			props.AssignedClientID = []byte(id)
		}
		if serverKA {
			props.Set(packet.PropServerKeepAlive)
			props.ServerKeepAlive = uint16(ka)
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
			if authReply != nil {
				props.Set(packet.PropAuthData)
				props.AuthData = authReply
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
	c.state = stateConnected
	c.sendConnack(present, packet.Success, &props)
	b.Stats.Connected++
	b.Stats.Total++
	if b.Stats.Connected > b.Stats.MaxConnected {
		b.Stats.MaxConnected = b.Stats.Connected
	}
	b.wheel.stop(&c.timer)
	if c.keepAlive > 0 {
		b.wheel.schedule(&c.timer, b.now, c.keepAlive)
	}
	if p.UsernameFlag {
		b.log.Noticef("New client connected from %s as %s (p%d, c%d, k%d, u'%s').", c.from(), id, c.version, b2i(p.CleanStart), ka, p.Username)
	} else {
		b.log.Noticef("New client connected from %s as %s (p%d, c%d, k%d).", c.from(), id, c.version, b2i(p.CleanStart), ka)
	}
	if present {
		s.resend()
		s.pump()
	}
	return nil
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
