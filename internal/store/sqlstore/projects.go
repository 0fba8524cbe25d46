package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/thingo-iot/thingo/internal/registry"
)

// Store implements every registry.Store method except Close over a DB.
// Lists are ordered oldest first (created_at ascending), ties by key, so
// pages stay stable while rows are added.
type Store struct {
	db DB
}

// New returns a Store that runs its queries on db. The schema must already be
// migrated.
func New(db DB) *Store {
	return &Store{db: db}
}

// where accumulates AND-ed conditions and their $n arguments.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each '?' in cond becomes the next $n placeholder.
func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns the LIMIT/OFFSET clause for w's next placeholders and the
// arguments to use with it; limit 0 means no limit.
func (w *where) page(offset, limit int) (string, []any) {
	l := int64(limit)
	if l <= 0 {
		l = math.MaxInt64
	}
	o := int64(max(offset, 0))
	n := len(w.args)
	return fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2), append(append([]any(nil), w.args...), l, o)
}

// likeContains returns a LIKE pattern matching s anywhere, escaping LIKE's
// wildcards with '\'.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

const projectCols = `id, name, description, instance_id, created_at, updated_at`

func scanProject(row Row) (registry.Project, error) {
	var p registry.Project
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Desc, &p.InstanceID, &created, &updated); err != nil {
		return registry.Project{}, err
	}
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return p, nil
}

// CreateProject inserts p; an existing id gives registry.ErrProjectExists.
func (s *Store) CreateProject(ctx context.Context, p registry.Project) error {
	_, err := s.db.Exec(ctx, `INSERT INTO projects (`+projectCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.Name, p.Desc, p.InstanceID, millis(p.CreatedAt), millis(p.UpdatedAt))
	if err != nil {
		if s.db.Violation(err) == UniqueViolation {
			return fmt.Errorf("create project %q: %w", p.ID, registry.ErrProjectExists)
		}
		return fmt.Errorf("create project %q: %w", p.ID, err)
	}
	return nil
}

// GetProject returns the project id or registry.ErrProjectNotFound.
func (s *Store) GetProject(ctx context.Context, id string) (registry.Project, error) {
	p, err := scanProject(s.db.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, id))
	if errors.Is(err, ErrNoRows) {
		return registry.Project{}, fmt.Errorf("get project %q: %w", id, registry.ErrProjectNotFound)
	}
	if err != nil {
		return registry.Project{}, fmt.Errorf("get project %q: %w", id, err)
	}
	return p, nil
}

// ListProjects returns one page of the projects matching f and their total.
// Name matches case-insensitively anywhere in the project name.
func (s *Store) ListProjects(ctx context.Context, f registry.ProjectFilter) ([]registry.Project, int64, error) {
	var w where
	if f.ProjectID != "" {
		w.add("id = ?", f.ProjectID)
	}
	if f.Name != "" {
		w.add(`LOWER(name) LIKE ? ESCAPE '\'`, likeContains(f.Name))
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM projects`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count projects: %w", err)
	}
	limit, args := w.page(f.Offset, f.Limit)
	rows, err := s.db.Query(ctx, `SELECT `+projectCols+` FROM projects`+w.String()+
		` ORDER BY created_at, id`+limit, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var out []registry.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	return out, total, nil
}

// UpdateProject stores p's name, description, instance id and update time.
func (s *Store) UpdateProject(ctx context.Context, p registry.Project) error {
	n, err := s.db.Exec(ctx, `UPDATE projects SET name = $2, description = $3, instance_id = $4, updated_at = $5
		WHERE id = $1`, p.ID, p.Name, p.Desc, p.InstanceID, millis(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update project %q: %w", p.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update project %q: %w", p.ID, registry.ErrProjectNotFound)
	}
	return nil
}

// DeleteProject removes the project; it fails with
// registry.ErrProjectHasProducts while products reference it.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	n, err := s.db.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
	if err != nil {
		if s.db.Violation(err) == ForeignKeyViolation {
			return fmt.Errorf("delete project %q: %w", id, registry.ErrProjectHasProducts)
		}
		return fmt.Errorf("delete project %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete project %q: %w", id, registry.ErrProjectNotFound)
	}
	return nil
}

// CountProject counts the products and devices of a project.
func (s *Store) CountProject(ctx context.Context, id string) (registry.ProjectCounts, error) {
	var c registry.ProjectCounts
	err := s.db.QueryRow(ctx, `SELECT
			(SELECT COUNT(*) FROM products WHERE project_id = $1),
			(SELECT COUNT(*) FROM devices d JOIN products p ON p.id = d.product_id WHERE p.project_id = $1)
		FROM projects WHERE id = $1`, id).Scan(&c.Products, &c.Devices)
	if errors.Is(err, ErrNoRows) {
		return registry.ProjectCounts{}, fmt.Errorf("count project %q: %w", id, registry.ErrProjectNotFound)
	}
	if err != nil {
		return registry.ProjectCounts{}, fmt.Errorf("count project %q: %w", id, err)
	}
	return c, nil
}
