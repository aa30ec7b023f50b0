// Package ovsjson writes JSON text the way Open vSwitch's JSON library
// (lib/json.c) does, so that what the database server journals and sends
// and what ovs-vsctl prints match the real tools byte for byte.
package ovsjson
