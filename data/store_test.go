package data_test

import (
	"context"
	"errors"
	"testing"

	"github.com/scalelab/scalelab/data"
)

// A new comment comes back with its photo's owner and their number of
// photos, as the photo and the owner's list show them.
func TestAddCommentReturnsTheOwner(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	if _, err := data.Load(ctx, pool, data.LoadOptions{Dataset: data.Dataset{Seed: 3, Users: 20}}); err != nil {
		t.Fatal(err)
	}
	s := &data.Store{DB: pool}
	const photo = 17
	d, err := s.Photo(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	_, total, err := s.UserPhotos(ctx, data.User{ID: d.UserID}, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.AddComment(ctx, photo, 2, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.PhotoID != photo || c.UserID != 2 || c.Body != "hello" || c.CreatedAt.IsZero() {
		t.Errorf("comment: %+v", c.Comment)
	}
	if c.Owner.ID != d.UserID || c.Owner.Name != d.OwnerName || c.OwnerPhotos != total {
		t.Errorf("owner %d %q with %d photos, want %d %q with %d", c.Owner.ID, c.Owner.Name, c.OwnerPhotos, d.UserID, d.OwnerName, total)
	}
	after, err := s.Photo(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(after.Comments); n != len(d.Comments)+1 || after.Comments[n-1].ID != c.ID {
		t.Errorf("the photo has %d comments after the insert, want %d ending with id %d", n, len(d.Comments)+1, c.ID)
	}
	if _, err := s.AddComment(ctx, 1<<40, 2, "nowhere"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("a comment on a missing photo: %v, want ErrNotFound", err)
	}
}
