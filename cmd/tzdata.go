package cmd

// The maintenance windows and --timezone name IANA zones; embedding the zone database makes
// time.LoadLocation work on machines without /usr/share/zoneinfo (distroless images, Windows).
import _ "time/tzdata"
