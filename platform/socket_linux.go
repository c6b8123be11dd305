//go:build linux

package platform

import "golang.org/x/sys/unix"

// somaxconnFile holds net.core.somaxconn, the kernel's cap on a listen backlog.
const somaxconnFile = "/proc/sys/net/core/somaxconn"

func socket(family int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// Accept accepts one connection as a non-blocking, close-on-exec fd.
func Accept(lfd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

// Writev writes bufs with one system call.
func Writev(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := unix.Writev(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}
