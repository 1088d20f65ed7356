package spec

// ExplicitZeros and EmptyIsMeaningful expose the tables to the tests.
func ExplicitZeros() map[string]explicitZero { return explicitZeros }
func EmptyIsMeaningful() map[string]string   { return emptyIsMeaningful }
