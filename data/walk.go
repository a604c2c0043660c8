package data

// Walker generates the dataset one user at a time, in id order: the user,
// their photos, the photos' tags and comments. Each table's loader runs its
// own Walker, so the tables are generated and copied in parallel.
type Walker struct {
	d           Dataset
	g           *rng
	next        int64 // next user id
	nextPhoto   int64
	nextComment int64

	// The current user's rows, valid until the next call to Next.
	User     User
	Photos   []Photo
	Tags     []Tag
	Comments []Comment
}

// What a Walker generates: leaving out tables it is not asked for makes
// it cheaper.
const (
	WantUsers = 1 << iota
	WantPhotos
	WantTags
	WantComments
)

// Walk returns a Walker over the dataset.
func (d Dataset) Walk() *Walker {
	return &Walker{d: d, g: newRNG(), next: 1, nextPhoto: 1, nextComment: 1}
}

// Next generates the next user's rows of the tables in want. It returns
// false after the last user.
func (w *Walker) Next(want int) bool {
	if w.next > int64(w.d.Users) {
		return false
	}
	id := w.next
	w.next++
	if want&WantUsers != 0 {
		w.User = w.d.user(w.g, id)
	}
	w.Photos, w.Tags, w.Comments = w.Photos[:0], w.Tags[:0], w.Comments[:0]
	n := int64(w.d.PhotoCount(id))
	for p := w.nextPhoto; p < w.nextPhoto+n; p++ {
		if want&WantPhotos != 0 {
			w.Photos = append(w.Photos, w.d.photo(w.g, p, id))
		}
		if want&WantTags != 0 {
			w.Tags = w.d.appendTags(w.g, w.Tags, p)
		}
		if want&WantComments != 0 {
			w.Comments = w.d.appendComments(w.g, w.Comments, p, &w.nextComment)
		}
	}
	w.nextPhoto += n
	return true
}
