// Package policy holds Gatehouse's rules as plain functions over plain
// values: role ranks and who may manage whom, which notifications a role may
// receive, whether a role may use a relying party, and whether a sign-in
// needs a second factor. Nothing here does I/O; handlers ask policy and
// never re-derive it.
package policy
