package config

import (
	"math"
	"testing"
)

func TestNonNegativeFiniteRejectsNaNInfinitiesAndNegatives(t *testing.T) {
	for _, tt := range []struct {
		x    float64
		want bool
	}{
		{0, true},
		{math.Copysign(0, -1), true},
		{1.5, true},
		{math.MaxFloat64, true},
		{math.SmallestNonzeroFloat64, true},
		{-1, false},
		{-math.SmallestNonzeroFloat64, false},
		{math.NaN(), false},
		{math.Inf(1), false},
		{math.Inf(-1), false},
	} {
		if got := nonNegativeFinite(tt.x); got != tt.want {
			t.Errorf("nonNegativeFinite(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}
