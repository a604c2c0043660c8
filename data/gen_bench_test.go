package data_test

import (
	"testing"

	"github.com/scalelab/scalelab/data"
)

// BenchmarkWalkPhotos measures generating the photos table alone.
func BenchmarkWalkPhotos(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w := data.Dataset{Seed: 1, Users: 10000}.Walk()
		for w.Next(data.WantPhotos) {
		}
	}
}

// BenchmarkLoadRows measures generating every table's rows as the loader
// does, without a database: the generator's share of "scalelab seed".
func BenchmarkLoadRows(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w := data.Dataset{Seed: 1, Users: 10000}.Walk()
		for w.Next(data.WantUsers | data.WantPhotos | data.WantTags | data.WantComments) {
		}
	}
}
