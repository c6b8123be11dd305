//go:build !nonet

package platform

import (
	"fmt"
	"net"
	"net/netip"
)

// resolve turns a bind address into an IP: a literal, or a host name looked
// up with the resolver (builds tagged nonet accept literals and "localhost"
// only, and leave the resolver out).
func resolve(host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	addrs, err := net.LookupIP(host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %q: %v", host, err)
	}
	ip, _ := netip.AddrFromSlice(addrs[0])
	return ip.Unmap(), nil
}
