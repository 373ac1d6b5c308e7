//go:build duckdb

package duckdb

import "net/netip"

var netipAddr = netip.Addr{}
