package data

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// DB is what the store needs of PostgreSQL: a pool (*pgxpool.Pool) for
// the long-running stages, one connection (*pgx.Conn) for a CGI request.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PageSize is the number of photos on a page of a list (see PageCount).
const PageSize = 20

// PhotoCard is a photo in a list: enough to draw a thumbnail with its
// title and owner.
type PhotoCard struct {
	Photo
	OwnerName    string
	OwnerDisplay string
	// Comments is the number of comments; filled only where a page shows
	// it (a user's page), -1 elsewhere.
	Comments int
}

// CommentView is a comment with its author's names (and, in the front
// page's list, its photo's title).
type CommentView struct {
	Comment
	AuthorName    string
	AuthorDisplay string
	PhotoTitle    string
}

// PhotoDetail is everything a photo page shows.
type PhotoDetail struct {
	PhotoCard
	Tags     []string
	Comments []CommentView
}

// Store is the PostgreSQL implementation of the site's queries. Every
// query takes its values as parameters, never as SQL text.
type Store struct {
	DB DB
}

// limit writes LIMIT and OFFSET into the SQL text rather than as
// parameters: with parameters, PostgreSQL's generic plan (used after a
// prepared statement's fifth run) must guess the limit, guesses 10% of the
// table, and picks a parallel plan that costs milliseconds for five rows.
// Both are integers computed by the site, never text from a request.
func limit(n, offset int) string {
	if offset > 0 {
		return fmt.Sprintf("LIMIT %d OFFSET %d", n, offset)
	}
	return fmt.Sprintf("LIMIT %d", n)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.DB.QueryRow(ctx, "SELECT 1").Scan(&one)
}

const cardColumns = "p.id, p.user_id, p.title, p.image, p.created_at, u.name, u.display_name, -1"

func scanCards(rows pgx.Rows) ([]PhotoCard, error) {
	defer rows.Close()
	var out []PhotoCard
	for rows.Next() {
		var c PhotoCard
		if err := rows.Scan(&c.ID, &c.UserID, &c.Title, &c.Image, &c.CreatedAt, &c.OwnerName, &c.OwnerDisplay, &c.Comments); err != nil {
			return nil, err
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// Newest returns the site's newest photos: the front page.
func (s *Store) Newest(ctx context.Context) ([]PhotoCard, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+cardColumns+` FROM photos p JOIN users u ON u.id = p.user_id
		ORDER BY p.created_at DESC, p.id DESC `+limit(PageSize, 0))
	if err != nil {
		return nil, fmt.Errorf("newest photos: %w", err)
	}
	return scanCards(rows)
}

// LatestComments returns the site's newest comments with their photos'
// titles: the front page's "latest comments".
func (s *Store) LatestComments(ctx context.Context, n int) ([]CommentView, error) {
	rows, err := s.DB.Query(ctx, `SELECT c.id, c.photo_id, c.user_id, c.body, c.created_at, u.name, u.display_name, p.title
		FROM comments c JOIN users u ON u.id = c.user_id JOIN photos p ON p.id = c.photo_id
		ORDER BY c.created_at DESC, c.id DESC `+limit(n, 0))
	if err != nil {
		return nil, fmt.Errorf("latest comments: %w", err)
	}
	return scanComments(rows)
}

func scanComments(rows pgx.Rows) ([]CommentView, error) {
	defer rows.Close()
	var out []CommentView
	for rows.Next() {
		var c CommentView
		if err := rows.Scan(&c.ID, &c.PhotoID, &c.UserID, &c.Body, &c.CreatedAt, &c.AuthorName, &c.AuthorDisplay, &c.PhotoTitle); err != nil {
			return nil, err
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// UserByName returns the user called name, or ErrNotFound. It leaves
// PasswordHash empty: a user read for a page is shown, maybe cached, and
// its hash has no business there (see UserWithPassword).
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := s.DB.QueryRow(ctx, "SELECT id, name, display_name, created_at FROM users WHERE name = $1", name).
		Scan(&u.ID, &u.Name, &u.DisplayName, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// UserWithPassword returns the user called name with its stored password
// hash, for a login; ErrNotFound if there is none.
func (s *Store) UserWithPassword(ctx context.Context, name string) (User, error) {
	var u User
	err := s.DB.QueryRow(ctx, "SELECT id, name, display_name, password_hash, created_at FROM users WHERE name = $1", name).
		Scan(&u.ID, &u.Name, &u.DisplayName, &u.PasswordHash, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("user %q with password: %w", name, err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// UpgradePassword replaces u's stored hash, if it is still u.PasswordHash,
// by hash: the rehash at login of a legacy hash. The condition makes two
// concurrent logins of one user harmless (the second changes nothing).
func (s *Store) UpgradePassword(ctx context.Context, u User, hash string) error {
	if _, err := s.DB.Exec(ctx, "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2", u.ID, u.PasswordHash, hash); err != nil {
		return fmt.Errorf("upgrade password of %s: %w", u.Name, err)
	}
	return nil
}

// UserPhotos returns page (1-based) of a user's photos, newest first, and
// how many photos the user has.
func (s *Store) UserPhotos(ctx context.Context, u User, page int) ([]PhotoCard, int, error) {
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT count(*) FROM photos WHERE user_id = $1", u.ID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count photos of %s: %w", u.Name, err)
	}
	rows, err := s.DB.Query(ctx, `SELECT p.id, p.user_id, p.title, p.image, p.created_at, $2::text, $3::text,
		(SELECT count(*) FROM comments c WHERE c.photo_id = p.id)::int FROM photos p
		WHERE p.user_id = $1 ORDER BY p.created_at DESC, p.id DESC `+limit(PageSize, (page-1)*PageSize),
		u.ID, u.Name, u.DisplayName)
	if err != nil {
		return nil, 0, fmt.Errorf("photos of %s: %w", u.Name, err)
	}
	cards, err := scanCards(rows)
	return cards, total, err
}

// TagPhotos returns page (1-based) of the photos with a tag, the most
// recently uploaded ids first, and whether there is a next page.
func (s *Store) TagPhotos(ctx context.Context, tag string, page int) ([]PhotoCard, bool, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+cardColumns+` FROM tags t
		JOIN photos p ON p.id = t.photo_id JOIN users u ON u.id = p.user_id
		WHERE t.tag = $1 ORDER BY t.photo_id DESC `+limit(PageSize+1, (page-1)*PageSize), tag)
	if err != nil {
		return nil, false, fmt.Errorf("photos tagged %q: %w", tag, err)
	}
	cards, err := scanCards(rows)
	if len(cards) > PageSize {
		return cards[:PageSize], true, err
	}
	return cards, false, err
}

// Photo returns a photo with its owner, tags and comments, or ErrNotFound.
func (s *Store) Photo(ctx context.Context, id int64) (PhotoDetail, error) {
	var d PhotoDetail
	rows, err := s.DB.Query(ctx, `SELECT `+cardColumns+` FROM photos p JOIN users u ON u.id = p.user_id WHERE p.id = $1`, id)
	if err != nil {
		return d, fmt.Errorf("photo %d: %w", id, err)
	}
	cards, err := scanCards(rows)
	if err != nil {
		return d, fmt.Errorf("photo %d: %w", id, err)
	}
	if len(cards) == 0 {
		return d, ErrNotFound
	}
	d.PhotoCard = cards[0]
	rows, err = s.DB.Query(ctx, "SELECT tag FROM tags WHERE photo_id = $1 ORDER BY tag", id)
	if err != nil {
		return d, fmt.Errorf("tags of photo %d: %w", id, err)
	}
	if d.Tags, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return d, fmt.Errorf("tags of photo %d: %w", id, err)
	}
	rows, err = s.DB.Query(ctx, `SELECT c.id, c.photo_id, c.user_id, c.body, c.created_at, u.name, u.display_name, ''::text
		FROM comments c JOIN users u ON u.id = c.user_id WHERE c.photo_id = $1 ORDER BY c.created_at, c.id`, id)
	if err != nil {
		return d, fmt.Errorf("comments of photo %d: %w", id, err)
	}
	if d.Comments, err = scanComments(rows); err != nil {
		return d, fmt.Errorf("comments of photo %d: %w", id, err)
	}
	return d, nil
}

// AddComment stores a comment by userID on a photo, and returns it with
// the photo's owner and their number of photos, read by the same statement
// that inserts it. ErrNotFound if the photo does not exist.
func (s *Store) AddComment(ctx context.Context, photoID, userID int64, body string) (NewComment, error) {
	c := NewComment{Comment: Comment{PhotoID: photoID, UserID: userID, Body: body}}
	err := s.DB.QueryRow(ctx, `WITH photo AS (
			SELECT p.id, u.id AS owner_id, u.name AS owner_name,
				(SELECT count(*) FROM photos o WHERE o.user_id = p.user_id)::int AS owner_photos
			FROM photos p JOIN users u ON u.id = p.user_id WHERE p.id = $1
		), added AS (
			INSERT INTO comments (photo_id, user_id, body) SELECT id, $2, $3 FROM photo RETURNING id, created_at
		)
		SELECT added.id, added.created_at, photo.owner_id, photo.owner_name, photo.owner_photos FROM added, photo`,
		photoID, userID, body).Scan(&c.ID, &c.CreatedAt, &c.Owner.ID, &c.Owner.Name, &c.OwnerPhotos)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("add comment to photo %d: %w", photoID, err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, nil
}

// Sessions keeps sessions in the sessions table: the talk's stage 1 and 2
// choice, one query on every request that carries a cookie.
type Sessions struct {
	DB DB
	// TTL is how long a session lives; zero means 7 days.
	TTL time.Duration
}

// sweepBatch bounds the expired sessions one login deletes: enough to
// keep up with the logins that made them, few enough to cost nothing.
const sweepBatch = 100

// Create stores a new session for u under id, and deletes up to sweepBatch
// expired sessions in the same statement, so that the table holds about
// the live sessions however long the site runs.
func (s *Sessions) Create(ctx context.Context, id string, u User) error {
	ttl := s.TTL
	if ttl == 0 {
		ttl = 7 * 24 * time.Hour
	}
	_, err := s.DB.Exec(ctx, `WITH swept AS (
			DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < now() ORDER BY expires_at LIMIT `+strconv.Itoa(sweepBatch)+`)
		)
		INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, now(), now() + $3::interval)`,
		id, u.ID, fmt.Sprintf("%d seconds", int(ttl.Seconds())))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Get returns the user of a live session, or ErrNotFound.
func (s *Sessions) Get(ctx context.Context, id string) (User, error) {
	var u User
	err := s.DB.QueryRow(ctx, `SELECT u.id, u.name, u.display_name FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1 AND s.expires_at > now()`, id).Scan(&u.ID, &u.Name, &u.DisplayName)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("read session: %w", err)
	}
	return u, nil
}

// Delete ends a session.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	if _, err := s.DB.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
