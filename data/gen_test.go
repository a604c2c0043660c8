package data_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/scalelab/scalelab/data"
)

// digest hashes every generated row of every table.
func digest(d data.Dataset) string {
	h := sha256.New()
	w := d.Walk()
	for w.Next(data.WantUsers | data.WantPhotos | data.WantTags | data.WantComments) {
		fmt.Fprintf(h, "%+v\n%+v\n%+v\n%+v\n", w.User, w.Photos, w.Tags, w.Comments)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestSameSeedSameRows(t *testing.T) {
	a, b := digest(data.Dataset{Seed: 7, Users: 300}), digest(data.Dataset{Seed: 7, Users: 300})
	if a != b {
		t.Fatalf("same seed, different rows: %s != %s", a, b)
	}
	if c := digest(data.Dataset{Seed: 8, Users: 300}); c == a {
		t.Fatalf("seeds 7 and 8 gave the same rows")
	}
}

// A walker asked for one table gives the same rows as one asked for all:
// the loader copies each table with its own walker.
func TestWalkerTablesIndependent(t *testing.T) {
	d := data.Dataset{Seed: 3, Users: 200}
	all, only := d.Walk(), d.Walk()
	for all.Next(data.WantUsers | data.WantPhotos | data.WantTags | data.WantComments) {
		only.Next(data.WantComments)
		if got, want := fmt.Sprint(only.Comments), fmt.Sprint(all.Comments); got != want {
			t.Fatalf("user %d: comments differ when generated alone:\n%s\n%s", all.User.ID, got, want)
		}
	}
}

func TestShapeAndForeignKeys(t *testing.T) {
	d := data.Dataset{Seed: 1, Users: 500}
	c := d.Counts()
	photos := map[int64]bool{}
	var nPhotos, nTags, nComments int64
	var lastPhoto, lastComment int64
	w := d.Walk()
	for w.Next(data.WantUsers | data.WantPhotos | data.WantTags | data.WantComments) {
		if n := len(w.Photos); n < data.MinPhotos || n > data.MaxPhotos {
			t.Errorf("user %d has %d photos, want %d-%d", w.User.ID, n, data.MinPhotos, data.MaxPhotos)
		}
		if !data.IsLegacy(w.User.PasswordHash) || !data.LegacyMatches(w.User.PasswordHash, data.Password(w.User.Name)) {
			t.Errorf("user %s: password %q does not match its hash", w.User.Name, data.Password(w.User.Name))
		}
		for _, p := range w.Photos {
			if p.UserID != w.User.ID {
				t.Errorf("photo %d: user %d, want %d", p.ID, p.UserID, w.User.ID)
			}
			if p.ID != lastPhoto+1 {
				t.Errorf("photo ids not contiguous: %d after %d", p.ID, lastPhoto)
			}
			lastPhoto = p.ID
			photos[p.ID] = true
			if !p.CreatedAt.Before(data.Epoch.Add(1)) {
				t.Errorf("photo %d made after the epoch: %v", p.ID, p.CreatedAt)
			}
		}
		seen := map[string]bool{}
		for _, tg := range w.Tags {
			if !photos[tg.PhotoID] {
				t.Errorf("tag %v points at no photo", tg)
			}
			k := fmt.Sprint(tg.PhotoID, tg.Tag)
			if seen[k] {
				t.Errorf("photo %d tagged %q twice", tg.PhotoID, tg.Tag)
			}
			seen[k] = true
		}
		for _, cm := range w.Comments {
			if !photos[cm.PhotoID] {
				t.Errorf("comment %d points at no photo (%d)", cm.ID, cm.PhotoID)
			}
			if cm.UserID < 1 || cm.UserID > int64(d.Users) {
				t.Errorf("comment %d by unknown user %d", cm.ID, cm.UserID)
			}
			if cm.ID != lastComment+1 {
				t.Errorf("comment ids not contiguous: %d after %d", cm.ID, lastComment)
			}
			lastComment = cm.ID
		}
		nPhotos += int64(len(w.Photos))
		nTags += int64(len(w.Tags))
		nComments += int64(len(w.Comments))
	}
	if got := (data.Counts{Users: int64(d.Users), Photos: nPhotos, Tags: nTags, Comments: nComments}); got != c {
		t.Errorf("generated %+v, Counts promised %+v", got, c)
	}
	if c.Comments == 0 || c.Tags == 0 {
		t.Errorf("no comments or tags: %+v", c)
	}
}

func TestDatasetValidate(t *testing.T) {
	for _, n := range []int{0, -5, data.MaxUsers + 1} {
		if err := (data.Dataset{Users: n}).Validate(); err == nil {
			t.Errorf("Validate accepted %d users", n)
		}
	}
}

func TestImagePool(t *testing.T) {
	dir := t.TempDir()
	if err := data.EnsurePool(dir); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, "medium", data.ImageName(5)))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []struct {
		name string
		w, h int
	}{{"thumb", data.ThumbSize.X, data.ThumbSize.Y}, {"medium", data.MediumSize.X, data.MediumSize.Y}} {
		files, _ := filepath.Glob(filepath.Join(dir, sub.name, "*.jpg"))
		if len(files) != data.PoolSize {
			t.Fatalf("%s: %d files, want %d", sub.name, len(files), data.PoolSize)
		}
		f, _ := os.Open(files[0])
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != sub.w || cfg.Height != sub.h {
			t.Errorf("%s: %dx%d, %v; want a %dx%d JPEG", files[0], cfg.Width, cfg.Height, err, sub.w, sub.h)
		}
	}
	// A second pool in another folder has the same bytes.
	dir2 := t.TempDir()
	if err := data.EnsurePool(dir2); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir2, "medium", data.ImageName(5)))
	if !bytes.Equal(first, second) {
		t.Errorf("the pool is not deterministic: image 5 differs")
	}
}

func TestPageCount(t *testing.T) {
	for _, tc := range []struct{ total, pages int }{
		{0, 1}, {1, 1}, {data.PageSize, 1}, {data.PageSize + 1, 2}, {2 * data.PageSize, 2}, {2*data.PageSize + 1, 3},
	} {
		if got := data.PageCount(tc.total); got != tc.pages {
			t.Errorf("PageCount(%d) = %d, want %d", tc.total, got, tc.pages)
		}
	}
}
