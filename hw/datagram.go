package hw

import "golang.org/x/sys/unix"

// sendDatagram sends one datagram to an AF_UNIX socket (a leading '@' is the
// abstract namespace), without the net package.
func sendDatagram(path string, msg []byte) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	unix.CloseOnExec(fd)
	unix.SetNonblock(fd, true)
	return unix.Sendto(fd, msg, 0, &unix.SockaddrUnix{Name: path})
}
