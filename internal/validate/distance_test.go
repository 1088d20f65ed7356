package validate

import "testing"

func TestDistanceCountsSingleCharacterEdits(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"abc", "abc", 0}, {"", "abc", 3}, {"abc", "", 3}, {"ab", "ba", 2}, {"us-east-9", "us-east-1", 1}, {"kitten", "sitting", 3}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
