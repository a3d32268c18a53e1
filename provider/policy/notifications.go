package policy

import "slices"

// Notification types and who may receive them (INTERFACE.md section 8).
var notificationRoles = map[string][]string{
	"error":   {"owner", "super_admin", "admin", "support"},
	"invoice": {"admin", "finance"},
	"general": {"owner", "super_admin", "admin"},
}

// NotificationTypes lists the types in a stable order.
var NotificationTypes = []string{"error", "invoice", "general"}

// Frequencies are the delivery frequencies a user may choose.
var Frequencies = []string{"immediately", "daily", "weekly", "monthly"}

// MayReceive reports whether role may receive notifications of kind.
func MayReceive(kind, role string) bool {
	return slices.Contains(notificationRoles[kind], role)
}

// ValidFrequency reports whether f is a known frequency.
func ValidFrequency(f string) bool { return slices.Contains(Frequencies, f) }
