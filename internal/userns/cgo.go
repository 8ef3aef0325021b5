//go:build cgo

package userns

// supported: with cgo, storage's pkg/unshare links a C constructor that
// joins the new namespace before the Go runtime starts in the copy.
const supported = true
