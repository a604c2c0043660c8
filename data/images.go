package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

// Image sizes of the pool: a thumbnail for lists and a medium image for
// the photo page, both real JPEG files served as static files.
var (
	ThumbSize  = image.Pt(160, 120)
	MediumSize = image.Pt(640, 480)
)

// poolVersion changes when the pictures change; a pool of another version
// is made again.
const poolVersion = 1

type poolManifest struct {
	Version int `json:"version"`
	Count   int `json:"count"`
}

// EnsurePool makes the image pool under dir (dir/thumb/NNNN.jpg and
// dir/medium/NNNN.jpg) unless a complete pool of this version is there.
// The pictures are landscapes drawn from a seed per image, so every
// machine gets the same files. The manifest is written last: an
// interrupted run makes the pool again.
func EnsurePool(dir string) error {
	manifest := filepath.Join(dir, "pool.json")
	if b, err := os.ReadFile(manifest); err == nil {
		var m poolManifest
		if json.Unmarshal(b, &m) == nil && m.Version == poolVersion && m.Count == PoolSize {
			return nil
		}
	}
	for _, sub := range []string{"thumb", "medium"} {
		// World-readable: nginx's workers run as nobody.
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("image pool: %w", err)
		}
	}
	jobs := make(chan int)
	errs := make(chan error, PoolSize)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				for _, v := range []struct {
					sub  string
					size image.Point
				}{{"thumb", ThumbSize}, {"medium", MediumSize}} {
					if err := writeJPEG(filepath.Join(dir, v.sub, ImageName(i)), landscape(i, v.size)); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	for i := 0; i < PoolSize; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("image pool: %w", err)
	}
	b, _ := json.Marshal(poolManifest{Version: poolVersion, Count: PoolSize})
	if err := os.WriteFile(manifest, b, 0o644); err != nil {
		return fmt.Errorf("image pool: %w", err)
	}
	return nil
}

func writeJPEG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 82}); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// landscape draws picture i of the pool at the given size: a sky
// gradient, a sun and three ranges of hills.
func landscape(i int, size image.Point) *image.RGBA {
	r := rand.New(rand.NewPCG(uint64(i), 0x5ca1e1ab))
	w, h := size.X, size.Y
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rc := func() color.RGBA { return color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255} }
	top, horizon, sun, land := rc(), rc(), rc(), rc()
	sunX, sunY, sunR := r.Float64(), 0.2+0.4*r.Float64(), 0.05+0.08*r.Float64()
	type hill struct{ base, amp, freq, phase float64 }
	var hills [3]hill
	for k := range hills {
		hills[k] = hill{0.55 + 0.12*float64(k) + 0.05*r.Float64(), 0.03 + 0.08*r.Float64(), 2 + 6*r.Float64(), 2 * math.Pi * r.Float64()}
	}
	// The hills' height at each column, and their colours, once per image.
	ridge := make([][3]float64, w)
	for x := range ridge {
		fx := float64(x) / float64(w)
		for k, hl := range hills {
			ridge[x][k] = hl.base + hl.amp*math.Sin(hl.freq*fx+hl.phase)
		}
	}
	var shade [3]color.RGBA
	for k := range shade {
		shade[k] = lerp(land, color.RGBA{0, 0, 0, 255}, 0.25*float64(k))
	}
	for y := 0; y < h; y++ {
		fy := float64(y) / float64(h)
		sky := lerp(top, horizon, fy)
		for x := 0; x < w; x++ {
			fx := float64(x) / float64(w)
			c := sky
			dx, dy := (fx-sunX)*float64(w)/float64(h), fy-sunY
			if dx*dx+dy*dy < sunR*sunR {
				c = sun
			}
			for k := range hills {
				if fy > ridge[x][k] {
					c = shade[k]
				}
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = c.R, c.G, c.B, 255
		}
	}
	return img
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}
