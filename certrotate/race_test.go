//go:build race

package certrotate

// raceEnabled is set when the tests run under the race detector, which makes
// them about ten times slower: the crash matrix then covers each write once.
const raceEnabled = true
