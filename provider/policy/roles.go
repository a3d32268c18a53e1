package policy

import (
	"fmt"
	"slices"
	"sort"
)

// Role is one entry of the role catalogue.
type Role struct {
	Name string `yaml:"name" json:"name"`
	Rank int    `yaml:"rank" json:"rank"`
	// ManagesNobody marks roles that may not manage any user whatever their
	// rank (tech, sales_marketing, client, co_managing).
	ManagesNobody bool `yaml:"manages_nobody" json:"manages_nobody"`
}

// Catalogue is the set of roles, configurable; DefaultCatalogue is
// INTERFACE.md section 6.
type Catalogue struct {
	roles map[string]Role
	order []Role // rank descending
}

// Owner is the primary account holder's role; the API can neither create
// nor demote an owner.
const Owner = "owner"

// DefaultRoles is the default catalogue.
var DefaultRoles = []Role{
	{Name: "owner", Rank: 100},
	{Name: "super_admin", Rank: 90},
	{Name: "admin", Rank: 80},
	{Name: "business", Rank: 60},
	{Name: "finance", Rank: 50},
	{Name: "support", Rank: 50},
	{Name: "tech", Rank: 40, ManagesNobody: true},
	{Name: "sales_marketing", Rank: 40, ManagesNobody: true},
	{Name: "org_admin", Rank: 30},
	{Name: "co_managing", Rank: 20, ManagesNobody: true},
	{Name: "client", Rank: 10, ManagesNobody: true},
}

// NewCatalogue checks and indexes roles. It must contain owner.
func NewCatalogue(roles []Role) (*Catalogue, error) {
	c := &Catalogue{roles: map[string]Role{}}
	for i, r := range roles {
		if r.Name == "" {
			return nil, fmt.Errorf("roles[%d].name: must not be empty", i)
		}
		if _, dup := c.roles[r.Name]; dup {
			return nil, fmt.Errorf("roles[%d].name: %q appears twice", i, r.Name)
		}
		if r.Rank <= 0 {
			return nil, fmt.Errorf("roles[%d].rank: must be positive", i)
		}
		c.roles[r.Name] = r
		c.order = append(c.order, r)
	}
	if _, ok := c.roles[Owner]; !ok {
		return nil, fmt.Errorf("roles: the catalogue must contain %q", Owner)
	}
	sort.SliceStable(c.order, func(i, j int) bool { return c.order[i].Rank > c.order[j].Rank })
	return c, nil
}

// DefaultCatalogue returns the catalogue of INTERFACE.md section 6.
func DefaultCatalogue() *Catalogue {
	c, err := NewCatalogue(DefaultRoles)
	if err != nil {
		panic(err)
	}
	return c
}

// Lookup returns a role by name.
func (c *Catalogue) Lookup(name string) (Role, bool) {
	r, ok := c.roles[name]
	return r, ok
}

// Roles returns every role, highest rank first.
func (c *Catalogue) Roles() []Role { return slices.Clone(c.order) }

// CanManage reports whether a user with role actor may create, change or
// delete a user with role target: only roles ranked strictly below, and
// never from a role that manages nobody.
func (c *Catalogue) CanManage(actor, target string) bool {
	a, ok1 := c.roles[actor]
	t, ok2 := c.roles[target]
	return ok1 && ok2 && !a.ManagesNobody && t.Rank < a.Rank
}

// Manages reports whether actor may manage anyone at all (the console shows
// its management pages only to these).
func (c *Catalogue) Manages(actor string) bool {
	a, ok := c.roles[actor]
	return ok && !a.ManagesNobody && slices.ContainsFunc(c.order, func(r Role) bool { return r.Rank < a.Rank })
}

// Assignable returns the roles actor may give, highest first; never owner.
func (c *Catalogue) Assignable(actor string) []Role {
	var out []Role
	for _, r := range c.order {
		if r.Name != Owner && c.CanManage(actor, r.Name) {
			out = append(out, r)
		}
	}
	return out
}

// RoleAllowed reports whether role may use a relying party whose
// allowed_roles is allowed; empty allows every role.
func RoleAllowed(allowed []string, role string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, role)
}
