// Package seed owns seed files (INTERFACE.md section 3): the YAML model,
// its validation, and applying it to the durable store, plus the built-in
// demo seed that `gatehouse serve --demo` applies.
//
// A seed file is checked whole before anything is written, and applied in
// one transaction: a file with any bad entry changes nothing, and the error
// names the file, the entry and the field of every problem. Entries are
// matched by their identifier (id; email for users; entity_id for SAML
// service providers) and updated in place, so applying the same file twice
// changes nothing the second time: stored password and secret hashes that
// already verify the seed's plaintext are kept, TOTP factors are not
// duplicated, and a record whose fields already match is not rewritten.
//
// It sits beside storage rather than under provider because the command
// line uses it before any HTTP subsystem exists; it imports storage, keys,
// passwords, clients (relying-party validation) and provider/policy (the
// role catalogue), all of which are pure or storage-level.
package seed
