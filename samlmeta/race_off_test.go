//go:build !race

package samlmeta

// raceEnabled reports whether the race detector is on: it makes verification about
// ten times slower, so the exhaustive tests sample instead.
const raceEnabled = false
