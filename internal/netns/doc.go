// Package netns makes throw-away network namespaces and veth pairs for
// integration tests, and runs code inside a namespace. Everything it makes
// is removed by t.Cleanup; processes it starts are stopped by PID.
package netns
