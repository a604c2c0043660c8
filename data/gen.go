package data

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// GeneratorVersion changes whenever the generator's output changes; it is
// recorded with a loaded dataset. 2: password hashes are written in the
// scheme named "sha256-legacy" (they were "sha256"; both are read).
const GeneratorVersion = 2

// Dataset size limits and shape.
const (
	DefaultUsers = 100_000
	MaxUsers     = 10_000_000
	MinPhotos    = 10 // photos per user, uniform in [MinPhotos, MaxPhotos]
	MaxPhotos    = 20
	MaxTags      = 3 // tags per photo, uniform in [0, MaxTags]
	// PoolSize is the number of images in the pool.
	PoolSize = 256
)

// Password is the password of a generated user: the workload logs in with
// it, so it is derived from the name alone.
func Password(name string) string { return "pw-" + name }

// UserName is the login name of user id (1-based).
func UserName(id int64) string { return fmt.Sprintf("user%06d", id) }

// ImageName is the pool file of pool index i.
func ImageName(i int) string {
	if i >= 0 && i < PoolSize {
		return imageNames[i]
	}
	return fmt.Sprintf("%04d.jpg", i)
}

// imageNames are made once: 1.5 million photos name one of them each.
var imageNames = func() []string {
	names := make([]string, PoolSize)
	for i := range names {
		names[i] = fmt.Sprintf("%04d.jpg", i)
	}
	return names
}()

// Streams separate the random draws of each kind of row, so the tags of a
// photo do not depend on how many draws its title took.
const (
	streamPhotoCount uint64 = iota + 1
	streamUser
	streamPhoto
	streamTags
	streamComments
)

// mix is SplitMix64's finaliser over (seed, stream, i): a cheap, well
// spread hash used where one number per row is enough.
func mix(seed, stream, i uint64) uint64 {
	z := seed ^ (stream * 0x9e3779b97f4a7c15) ^ (i * 0xbf58476d1ce4e5b9)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Dataset is the generated photo site: a pure function of Seed and Users.
type Dataset struct {
	Seed  uint64
	Users int
}

// Validate reports a dataset size that cannot be generated.
func (d Dataset) Validate() error {
	if d.Users < 1 || d.Users > MaxUsers {
		return fmt.Errorf("users must be between 1 and %d, got %d", MaxUsers, d.Users)
	}
	return nil
}

// rng is a reusable seeded generator: reseeding a PCG costs nothing, so
// each row gets its own stream without an allocation.
type rng struct {
	pcg rand.PCG
	r   *rand.Rand
}

func newRNG() *rng {
	g := &rng{}
	g.r = rand.New(&g.pcg)
	return g
}

func (g *rng) reset(seed, stream, i uint64) *rand.Rand {
	g.pcg.Seed(mix(seed, stream, i), i)
	return g.r
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// PhotoCount is the number of photos of user id.
func (d Dataset) PhotoCount(id int64) int {
	return MinPhotos + int(mix(d.Seed, streamPhotoCount, uint64(id))%(MaxPhotos-MinPhotos+1))
}

// tagCount and commentCount are per photo. Comments are skewed: most photos
// have none or one, a few have three.
func (d Dataset) tagCount(photoID int64) int {
	return int(mix(d.Seed, streamTags, uint64(photoID)) % (MaxTags + 1))
}

var commentShares = [10]int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3}

func (d Dataset) commentCount(photoID int64) int {
	return commentShares[mix(d.Seed, streamComments, uint64(photoID))%10]
}

// Counts are the number of rows the dataset holds per table.
type Counts struct {
	Users, Photos, Tags, Comments int64
}

// Counts computes the row counts without generating the rows.
func (d Dataset) Counts() Counts {
	c := Counts{Users: int64(d.Users)}
	for u := int64(1); u <= int64(d.Users); u++ {
		c.Photos += int64(d.PhotoCount(u))
	}
	for p := int64(1); p <= c.Photos; p++ {
		c.Tags += int64(d.tagCount(p))
		c.Comments += int64(d.commentCount(p))
	}
	return c
}

func (d Dataset) user(g *rng, id int64) User {
	r := g.reset(d.Seed, streamUser, uint64(id))
	name := UserName(id)
	var salt [8]byte
	for i := range salt {
		salt[i] = byte(r.Uint32())
	}
	return User{
		ID:           id,
		Name:         name,
		DisplayName:  pick(r, firstNames) + " " + pick(r, lastNames),
		PasswordHash: LegacyHash(Password(name), salt[:]),
		// Members joined in the year before the photos begin.
		CreatedAt: Epoch.Add(-3*365*24*time.Hour + time.Duration(r.Int64N(365*24*3600))*time.Second),
	}
}

// photoSpan is the time photos were uploaded in: two years before Epoch.
const photoSpan = 2 * 365 * 24 * 3600

func (d Dataset) photoTime(photoID int64) time.Time {
	off := mix(d.Seed, streamPhoto, uint64(photoID)) % photoSpan
	return Epoch.Add(-time.Duration(off) * time.Second)
}

func (d Dataset) photo(g *rng, id, userID int64) Photo {
	r := g.reset(d.Seed, streamPhoto, uint64(id))
	title := pick(r, adjectives) + " " + pick(r, nouns)
	if r.IntN(2) == 0 {
		title += " in " + pick(r, places)
	}
	return Photo{ID: id, UserID: userID, Title: title, Image: ImageName(r.IntN(PoolSize)), CreatedAt: d.photoTime(id)}
}

// appendTags appends the photo's distinct tags to buf.
func (d Dataset) appendTags(g *rng, buf []Tag, photoID int64) []Tag {
	n := d.tagCount(photoID)
	r := g.reset(d.Seed, streamTags, uint64(photoID))
	start := len(buf)
next:
	for len(buf)-start < n {
		t := pick(r, TagNames)
		for _, have := range buf[start:] {
			if have.Tag == t {
				continue next
			}
		}
		buf = append(buf, Tag{PhotoID: photoID, Tag: t})
	}
	return buf
}

// appendComments appends the photo's comments, numbered from *nextID, to buf.
func (d Dataset) appendComments(g *rng, buf []Comment, photoID int64, nextID *int64) []Comment {
	n := d.commentCount(photoID)
	if n == 0 {
		return buf
	}
	r := g.reset(d.Seed, streamComments, uint64(photoID))
	at := d.photoTime(photoID)
	for i := 0; i < n; i++ {
		at = at.Add(time.Duration(60+r.IntN(3*24*3600)) * time.Second)
		buf = append(buf, Comment{
			ID:        *nextID,
			PhotoID:   photoID,
			UserID:    1 + r.Int64N(int64(d.Users)),
			Body:      pick(r, commentOpeners) + pick(r, commentTails),
			CreatedAt: at,
		})
		*nextID++
	}
	return buf
}
