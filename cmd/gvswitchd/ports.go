package main

// registerPortTypes registers the Interface types gvswitchd can open; each
// comes from its port package.
func registerPortTypes() {
}
