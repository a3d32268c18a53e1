package federation

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// errPrivateAddress refuses a connection to an address inside the
// deployment's own networks.
var errPrivateAddress = errors.New("federation: upstream address is loopback, private or link-local")

// upstreamClient is the default client for upstream providers. Connection
// URLs come from partners' admins, so unless allowPrivate it dials only
// public addresses: the check runs on the address actually dialled, after
// name resolution, so a name that resolves (or rebinds) to an internal
// address is refused too.
func upstreamClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !publicIP(ip) {
				return fmt.Errorf("%w: %s", errPrivateAddress, host)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	tr.Proxy = nil // a proxy would dial for us, past the check
	return &http.Client{Timeout: timeout, Transport: tr}
}

// publicIP reports whether ip is routable on the internet.
func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		// 100.64.0.0/10, carrier-grade NAT, used inside clouds.
		(ip.To4() != nil && ip.To4()[0] == 100 && ip.To4()[1]&0xc0 == 64))
}
