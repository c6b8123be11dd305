//go:build nonet

package platform

import (
	"fmt"
	"net/netip"
)

func resolve(host string) (netip.Addr, error) {
	if host == "localhost" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("bind address %q: this build (nonet) takes IP addresses only", host)
	}
	return ip, nil
}
