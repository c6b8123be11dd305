//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package platform

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxBacklog caps the listen backlog: the kernel's own limit before Linux
// 4.1 (a 16-bit field), and far more than a broker accepts in one burst.
const MaxBacklog = 65535

// ListenBacklog is the listen backlog to ask for: the system's limit
// (Linux: net.core.somaxconn, 4096 by default since Linux 5.4, 128
// before), else unix.SOMAXCONN, capped at MaxBacklog. A backlog of 128
// makes a burst of connects wait a second for a SYN retry once the accept
// queue is full.
func ListenBacklog() int { return backlogFrom(somaxconnFile) }

func backlogFrom(file string) int {
	n := unix.SOMAXCONN
	if b, err := os.ReadFile(file); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			n = v
		}
	}
	return min(n, MaxBacklog)
}

// Listen opens a non-blocking TCP listening socket on host:port. The empty
// host means every address, IPv6 and IPv4 (one dual-stack socket, as
// Mosquitto listens when no address is given), or IPv4 alone where the
// kernel has no IPv6; "::" is the same without the fallback, "0.0.0.0"
// IPv4 only. It returns the fd and the bound address (useful for port 0).
// A backlog <= 0 means ListenBacklog().
func Listen(host string, port int, backlog int) (int, netip.AddrPort, error) {
	if backlog <= 0 {
		backlog = ListenBacklog()
	}
	if host == "" {
		fd, addr, err := listenOn(netip.IPv6Unspecified(), true, port, backlog)
		if err == nil || !noIPv6(err) {
			return fd, addr, err
		}
		return listenOn(netip.IPv4Unspecified(), false, port, backlog)
	}
	ip, err := resolve(host)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	return listenOn(ip, host == "::", port, backlog)
}

// noIPv6 reports an error that means the kernel has no IPv6 (not built in,
// or disabled on every interface).
func noIPv6(err error) bool {
	return errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EPROTONOSUPPORT)
}

func listenOn(ip netip.Addr, dual bool, port, backlog int) (int, netip.AddrPort, error) {
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ip.Is4() || ip.Is4In6() {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.Unmap().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := socket(family)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if family == unix.AF_INET6 {
		v6only := 1
		if dual {
			v6only = 0
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, &os.PathError{Op: "bind", Path: netip.AddrPortFrom(ip, uint16(port)).String(), Err: err}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	return fd, SockaddrToAddrPort(bound), nil
}

// SockaddrToAddrPort converts a socket address without allocating.
func SockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// Read, Write and Close are non-blocking socket calls; Read returns
// (0, nil) at end of stream and EAGAIN as ErrWouldBlock.
var ErrWouldBlock = unix.EAGAIN

func Read(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func Write(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func Close(fd int) error { return unix.Close(fd) }

// SetNoDelay turns Nagle's algorithm off for fd.
func SetNoDelay(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

// IsTemporary reports whether an accept error means "try later" (the
// listener is kept) rather than a broken listener.
func IsTemporary(err error) bool {
	switch err {
	case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED, unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.EPROTO:
		return true
	}
	return false
}

// OutOfFiles reports whether an accept error means the process or system
// has no file descriptors left.
func OutOfFiles(err error) bool {
	return err == unix.EMFILE || err == unix.ENFILE || err == unix.ENOBUFS || err == unix.ENOMEM
}

// RaiseFileLimit raises RLIMIT_NOFILE's soft limit to at least want (capped
// by the hard limit) and returns the limit now in force.
func RaiseFileLimit(want uint64) (uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if uint64(rl.Cur) >= want {
		return uint64(rl.Cur), nil
	}
	n := want
	if n > uint64(rl.Max) {
		n = uint64(rl.Max)
	}
	setLimit(&rl.Cur, n)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return n, nil
}

func setLimit[T int64 | uint64](p *T, v uint64) { *p = T(v) }

// ShutdownWrite half-closes fd: the peer reads EOF after the buffered bytes.
func ShutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// SendUnixgram sends one datagram to the AF_UNIX socket at path (a leading
// '@' names the abstract namespace), as sd_notify and syslog need, without
// the net package.
func SendUnixgram(path string, msg []byte) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	unix.CloseOnExec(fd)
	unix.SetNonblock(fd, true)
	// x/sys maps a leading '@' to the abstract namespace.
	return unix.Sendto(fd, msg, 0, &unix.SockaddrUnix{Name: path})
}

var errNotSocket = errors.New("exists and is not a socket")

// ListenUnix opens a non-blocking listening socket at path. A stale socket
// left there by an earlier run is removed; any other file is an error. A
// backlog <= 0 means ListenBacklog().
func ListenUnix(path string, backlog int) (int, error) {
	if backlog <= 0 {
		backlog = ListenBacklog()
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			return -1, &os.PathError{Op: "listen", Path: path, Err: errNotSocket}
		}
		unix.Unlink(path)
	}
	fd, err := socket(unix.AF_UNIX)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "bind", Path: path, Err: err}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		unix.Unlink(path)
		return -1, err
	}
	return fd, nil
}
