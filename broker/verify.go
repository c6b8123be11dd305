//go:build !noauth

package broker

import (
	"midge/broker/packet"
)

// Password hashes are slow on purpose: an argon2id or PBKDF2 check costs a
// router's CPU tens to hundreds of milliseconds, which on the event loop
// would stall every client, and a fleet reconnecting after a reboot would
// stall it for minutes. So the built-in credential checks (password file,
// JWT) run on one verifier goroutine: the CONNECT is kept, input from the
// client is paused, and when the answer comes back the CONNECT is handled
// again with it. One goroutine keeps the other core for the loop on a
// dual-core board; the queue is bounded and a client that finds it full
// is told Server busy. connect_timeout bounds the wait.

// verifyQueue bounds the logins waiting; verifyBudget bounds the bytes they
// hold (their CONNECTs and what the clients sent behind them), since none
// of them is authenticated yet.
const (
	verifyQueue  = 256
	verifyBudget = 1 << 20
)

// pendingLogin is a CONNECT waiting for the verifier.
type pendingLogin struct {
	req   *connectReq // resumes with the answer
	bytes int         // charged to the broker's verifyBytes
}

type verifyJob struct {
	c        *conn
	p        *pendingLogin
	hooks    []hook
	client   Client
	password []byte
}

var errVerifierBusy = &refusal{packet.ServerBusy, "too many logins being verified"}

// startVerifier runs the verifier until the broker stops.
func (b *Broker) startVerifier() {
	b.verifyQ = make(chan verifyJob, verifyQueue)
	go func() {
		for {
			select {
			case j := <-b.verifyQ:
				var res authResult
				d := authenticateWith(j.hooks, j.client, j.password, &res)
				if !b.Do(func() { j.c.verified(j.p, d, res) }) {
					return
				}
			case <-b.done:
				return
			}
		}
	}()
}

// verifyAsync hands the built-in credential checks to the verifier with
// the kept request; errAnswered tells the caller it waits.
func (c *conn) verifyAsync(sec *security, cl Client, password []byte, r *connectReq) error {
	b := c.b
	if b.verifyBytes+len(r.body) > verifyBudget {
		return errVerifierBusy
	}
	p := &pendingLogin{req: r, bytes: len(r.body)}
	j := verifyJob{c: c, p: p, hooks: sec.authn, client: cl, password: append([]byte(nil), password...)}
	select {
	case b.verifyQ <- j:
	default:
		return errVerifierBusy
	}
	b.verifyBytes += p.bytes
	c.ext().login = p
	return errAnswered
}

// holdInput keeps bytes a client sent while its CONNECT is verified,
// charged to the budget; over it, the client is dropped.
func (c *conn) holdInput(data []byte) bool {
	if len(data) == 0 {
		return true
	}
	b, p := c.b, c.x.login
	if b.verifyBytes+len(data) > verifyBudget {
		b.log.Noticef("Client %s sent too much before its CONNECT was answered, closing.", c.from())
		held := p.bytes - len(p.req.body) // its input goes with it; the CONNECT waits for the verifier
		p.bytes -= held
		b.verifyBytes -= held
		c.b.disconnect(c, false)
		return false
	}
	p.bytes += len(data)
	b.verifyBytes += len(data)
	c.in = append(c.in, data...)
	return true
}

func (c *conn) pendingLogin() *pendingLogin {
	if c.x == nil {
		return nil
	}
	return c.x.login
}

// loginWait reports whether the connection waits for the verifier (its
// input is paused meanwhile).
func (c *conn) loginWait() bool {
	return c.pendingLogin() != nil
}

// verified completes a CONNECT with the verifier's answer, on the loop: the
// request resumes at the decision, then what the client sent after it is
// handled.
func (c *conn) verified(p *pendingLogin, d Decision, res authResult) {
	c.b.verifyBytes -= p.bytes
	if c.state != stateNew || c.x == nil || c.x.login != p {
		return // closed (or timed out) meanwhile
	}
	c.x.login = nil
	r := p.req
	r.res = res
	err := c.judge(r, d)
	if err == nil {
		err = c.admit(r)
	}
	c.refuse(err)
	if c.in != nil {
		c.consume(c.in) // what the client sent behind its CONNECT
	} else if c.state == stateNew || c.state == stateConnected {
		c.setInterest()
	}
}
