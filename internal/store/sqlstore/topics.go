package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
)

const topicCols = `product_id, name, privilege, created_at, updated_at`

func scanTopic(row Row) (registry.TopicPolicy, error) {
	var t registry.TopicPolicy
	var priv, created, updated int64
	if err := row.Scan(&t.ProductID, &t.Name, &priv, &created, &updated); err != nil {
		return registry.TopicPolicy{}, err
	}
	t.Privilege = uint64(priv)
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	return t, nil
}

// CreateTopicPolicy inserts t. It fails with registry.ErrProductNotFound when
// the product is unknown and registry.ErrTopicExists when the name is taken.
func (s *Store) CreateTopicPolicy(ctx context.Context, t registry.TopicPolicy) error {
	_, err := s.db.Exec(ctx, `INSERT INTO topic_policies (`+topicCols+`) VALUES ($1, $2, $3, $4, $5)`,
		t.ProductID, t.Name, int64(t.Privilege), millis(t.CreatedAt), millis(t.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == UniqueViolation:
		return fmt.Errorf("create topic policy %s/%s: %w", t.ProductID, t.Name, registry.ErrTopicExists)
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("create topic policy %s/%s: %w", t.ProductID, t.Name, registry.ErrProductNotFound)
	default:
		return fmt.Errorf("create topic policy %s/%s: %w", t.ProductID, t.Name, err)
	}
}

// GetTopicPolicy returns a topic policy or registry.ErrTopicNotFound.
func (s *Store) GetTopicPolicy(ctx context.Context, productID, name string) (registry.TopicPolicy, error) {
	t, err := scanTopic(s.db.QueryRow(ctx, `SELECT `+topicCols+` FROM topic_policies
		WHERE product_id = $1 AND name = $2`, productID, name))
	if errors.Is(err, ErrNoRows) {
		return registry.TopicPolicy{}, fmt.Errorf("get topic policy %s/%s: %w", productID, name, registry.ErrTopicNotFound)
	}
	if err != nil {
		return registry.TopicPolicy{}, fmt.Errorf("get topic policy %s/%s: %w", productID, name, err)
	}
	return t, nil
}

// ListTopicPolicies returns the topic policies of a product ordered by name;
// an unknown product gives registry.ErrProductNotFound.
func (s *Store) ListTopicPolicies(ctx context.Context, productID string) ([]registry.TopicPolicy, error) {
	var products int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM products WHERE id = $1`, productID).Scan(&products); err != nil {
		return nil, fmt.Errorf("list topic policies of %q: %w", productID, err)
	}
	if products == 0 {
		return nil, fmt.Errorf("list topic policies of %q: %w", productID, registry.ErrProductNotFound)
	}
	rows, err := s.db.Query(ctx, `SELECT `+topicCols+` FROM topic_policies WHERE product_id = $1
		ORDER BY name`, productID)
	if err != nil {
		return nil, fmt.Errorf("list topic policies of %q: %w", productID, err)
	}
	defer rows.Close()
	var out []registry.TopicPolicy
	for rows.Next() {
		t, err := scanTopic(rows)
		if err != nil {
			return nil, fmt.Errorf("list topic policies of %q: %w", productID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list topic policies of %q: %w", productID, err)
	}
	return out, nil
}

// UpdateTopicPolicy renames oldName to t.Name (kept when t.Name is empty) and
// stores t.Privilege and t.UpdatedAt. Renaming onto an existing name gives
// registry.ErrTopicExists.
func (s *Store) UpdateTopicPolicy(ctx context.Context, productID, oldName string, t registry.TopicPolicy) error {
	name := t.Name
	if name == "" {
		name = oldName
	}
	n, err := s.db.Exec(ctx, `UPDATE topic_policies SET name = $3, privilege = $4, updated_at = $5
		WHERE product_id = $1 AND name = $2`, productID, oldName, name, int64(t.Privilege), millis(t.UpdatedAt))
	if err != nil {
		if s.db.Violation(err) == UniqueViolation {
			return fmt.Errorf("rename topic policy %s/%s to %q: %w", productID, oldName, name, registry.ErrTopicExists)
		}
		return fmt.Errorf("update topic policy %s/%s: %w", productID, oldName, err)
	}
	if n == 0 {
		return fmt.Errorf("update topic policy %s/%s: %w", productID, oldName, registry.ErrTopicNotFound)
	}
	return nil
}

// DeleteTopicPolicy removes a topic policy.
func (s *Store) DeleteTopicPolicy(ctx context.Context, productID, name string) error {
	n, err := s.db.Exec(ctx, `DELETE FROM topic_policies WHERE product_id = $1 AND name = $2`, productID, name)
	if err != nil {
		return fmt.Errorf("delete topic policy %s/%s: %w", productID, name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete topic policy %s/%s: %w", productID, name, registry.ErrTopicNotFound)
	}
	return nil
}
