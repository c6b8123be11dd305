//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package platform

import "golang.org/x/sys/unix"

// somaxconnFile: the BSDs keep kern.ipc.somaxconn in sysctl; unix.SOMAXCONN is used.
const somaxconnFile = ""

func socket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	return fd, unix.SetNonblock(fd, true)
}

// Accept accepts one connection as a non-blocking, close-on-exec fd.
func Accept(lfd int) (int, unix.Sockaddr, error) {
	fd, sa, err := unix.Accept(lfd)
	if err != nil {
		return -1, nil, err
	}
	unix.CloseOnExec(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
	return fd, sa, unix.SetNonblock(fd, true)
}

// Writev writes bufs in order (one call per buffer here), stopping at the
// first short write.
func Writev(fd int, bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		n, err := Write(fd, b)
		total += n
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		if n < len(b) {
			break
		}
	}
	return total, nil
}
