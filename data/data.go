// Package data is scalelab's one data model: the schema of the photo site,
// its row types, a deterministic generator of the dataset, the COPY loader
// and the pool of JPEG images the photos point at.
//
// The dataset is a pure function of (seed, number of users): every row is
// derived from the seed and the row's own index with a seeded PCG, never
// from the order of a map or the clock, so the same seed gives the same
// rows byte for byte on any machine, and every stage serves the same pages.
package data

import "time"

// Epoch is the fixed "now" of the generated dataset: the day of the talk.
// Generated timestamps lie in the two years before it.
var Epoch = time.Date(2007, 2, 24, 12, 0, 0, 0, time.UTC)

// User is a member of the photo site.
type User struct {
	ID          int64
	Name        string // login and URL name: user000001 …
	DisplayName string
	// PasswordHash is the stored password in a self-describing format:
	// bcrypt's "$2a$…", or the seed's legacy "sha256-legacy$…" (see
	// CheckPassword). Only the login reads it: UserByName leaves it empty.
	PasswordHash string
	CreatedAt    time.Time
}

// PageCount is the number of pages of a list of total items, PageSize a
// page: at least one, since an empty list still has its (empty) first
// page. The site numbers its pages with it, and a cache finds with it every
// page of a list that a write changed.
func PageCount(total int) int { return max(1, (total+PageSize-1)/PageSize) }

// Photo is one uploaded photo; Image names its file in the image pool.
type Photo struct {
	ID        int64
	UserID    int64
	Title     string
	Image     string // pool file name, e.g. "0042.jpg"
	CreatedAt time.Time
}

// Tag labels a photo; a photo has each tag at most once.
type Tag struct {
	PhotoID int64
	Tag     string
}

// Comment is a user's comment on a photo.
type Comment struct {
	ID        int64
	PhotoID   int64
	UserID    int64
	Body      string
	CreatedAt time.Time
}

// NewComment is a comment just stored, with what its insert learned of
// the photo's owner in the same statement: all a cache needs to find every
// page and query result the comment changed (the photo, the latest
// comments, each page of the owner's list) without reading them again.
type NewComment struct {
	Comment
	// Owner is the photo's owner; only ID and Name are filled.
	Owner User
	// OwnerPhotos is how many photos the owner has: their list has
	// PageCount(OwnerPhotos) pages.
	OwnerPhotos int
}

// Session is a logged-in browser: the cookie value is ID.
type Session struct {
	ID        string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}
