package seed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds a seed file; a larger one is surely a mistake.
const MaxFileSize = 16 << 20

// File is one seed file.
type File struct {
	// Path names the file in messages; not part of the YAML.
	Path string `yaml:"-"`

	Partners         []Partner         `yaml:"partners"`
	Organizations    []Organization    `yaml:"organizations"`
	Users            []User            `yaml:"users"`
	Clients          []Client          `yaml:"clients"`
	ServiceProviders []ServiceProvider `yaml:"saml_service_providers"`
	Connections      []Connection      `yaml:"connections"`
}

// Partner is an MSP company.
type Partner struct {
	ID           string `yaml:"id"`
	Name         string `yaml:"name"`
	Domain       string `yaml:"domain"`
	PrimaryEmail string `yaml:"primary_email"`
	RequireMFA   bool   `yaml:"require_mfa"`
}

// Organization is one of a partner's customer companies.
type Organization struct {
	ID           string `yaml:"id"`
	Partner      string `yaml:"partner"`
	Name         string `yaml:"name"`
	CoManagement bool   `yaml:"co_management"`
	SaaSAccount  string `yaml:"saas_account"`
}

// User is anyone who signs in.
type User struct {
	Email        string `yaml:"email"`
	Partner      string `yaml:"partner"`
	Kind         string `yaml:"kind"`
	Role         string `yaml:"role"`
	Name         string `yaml:"name"`
	Password     string `yaml:"password"`
	PasswordHash string `yaml:"password_hash"`
	Phone        string `yaml:"phone"`
	Username     string `yaml:"username"`
	Organization string `yaml:"organization"`
	// Active defaults to true, so it is a pointer: absent differs from false.
	Active                *bool  `yaml:"active"`
	SSO                   bool   `yaml:"sso"`
	PasswordResetDisabled bool   `yaml:"password_reset_disabled"`
	TOTPSecret            string `yaml:"totp_secret"`
}

// Client is an OIDC relying party.
type Client struct {
	ID                      string   `yaml:"id"`
	Name                    string   `yaml:"name"`
	Secret                  string   `yaml:"secret"`
	RedirectURIs            []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs  []string `yaml:"post_logout_redirect_uris"`
	BackchannelLogoutURI    string   `yaml:"backchannel_logout_uri"`
	GrantTypes              []string `yaml:"grant_types"`
	Scopes                  []string `yaml:"scopes"`
	TokenEndpointAuthMethod string   `yaml:"token_endpoint_auth_method"`
	JWKSURI                 string   `yaml:"jwks_uri"`
	AllowedRoles            []string `yaml:"allowed_roles"`
	FirstParty              bool     `yaml:"first_party"`
	IDTokenAlg              string   `yaml:"id_token_signed_response_alg"`
}

// ServiceProvider is a SAML relying party.
type ServiceProvider struct {
	EntityID     string   `yaml:"entity_id"`
	Name         string   `yaml:"name"`
	Metadata     string   `yaml:"metadata"`
	MetadataURL  string   `yaml:"metadata_url"`
	AllowedRoles []string `yaml:"allowed_roles"`
}

// Connection is a partner's upstream identity provider.
type Connection struct {
	ID           string `yaml:"id"`
	Partner      string `yaml:"partner"`
	Type         string `yaml:"type"`
	Name         string `yaml:"name"`
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	MetadataURL  string `yaml:"metadata_url"`
	Metadata     string `yaml:"metadata"`
}

// Load reads and parses the seed file at path.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &Error{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, &Error{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Problems: []Problem{{File: path, Message: fmt.Sprintf("larger than %d bytes", MaxFileSize)}}}
	}
	return Parse(path, data)
}

// Parse parses a seed file's bytes; name is used in messages. Unknown keys
// and values of the wrong type are errors naming their entry and field.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Path: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(f)
	if errors.Is(err, io.EOF) {
		return f, nil // an empty file seeds nothing
	}
	if err != nil {
		return nil, decodeError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []Problem{{File: name, Message: "holds more than one YAML document; put every entry in one"}}}
	}
	f.Path = name
	return f, nil
}

var (
	lineRe    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type`)
	typeRe    = regexp.MustCompile("^cannot unmarshal !!\\w+ `(.*)` into (\\S+)$")
)

// decodeError turns yaml.v3's messages ("line 12: field foo not found in
// type seed.User") into problems naming the entry and field.
func decodeError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// A syntax error: yaml gives its line, nothing more is known.
		return &Error{Problems: []Problem{{File: name, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // parsed once already; only types failed
	idx := indexLines(&root)
	var out []Problem
	for _, msg := range te.Errors {
		p := Problem{File: name, Message: msg}
		m := lineRe.FindStringSubmatch(msg)
		if m == nil {
			out = append(out, p)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		p.Message = m[2]
		loc := idx[line]
		p.Entry, p.Field = loc.entry, loc.field
		switch {
		case unknownRe.MatchString(m[2]):
			p.Field = unknownRe.FindStringSubmatch(m[2])[1]
			p.Message = "unknown field"
		case typeRe.MatchString(m[2]):
			t := typeRe.FindStringSubmatch(m[2])
			p.Message = fmt.Sprintf("%q is not %s", t[1], typeName(t[2]))
		}
		if p.Entry == "" {
			p.Message += fmt.Sprintf(" (line %d)", line)
		}
		out = append(out, p)
	}
	return &Error{Problems: out}
}

func typeName(goType string) string {
	switch {
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]seed."):
		return "a list of entries"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "seed."):
		return "an entry (a mapping of fields)"
	case goType == "string":
		return "text"
	}
	return "a " + goType
}

type location struct{ entry, field string }

// identifiers are the fields that name an entry of each section.
var identifiers = map[string]string{
	"partners": "id", "organizations": "id", "users": "email", "clients": "id",
	"saml_service_providers": "entity_id", "connections": "id",
}

// indexLines maps each line of the file to the entry and field on it.
func indexLines(root *yaml.Node) map[int]location {
	idx := map[int]location{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return idx
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		section, list := top.Content[i].Value, top.Content[i+1]
		idx[top.Content[i].Line] = location{entry: section}
		if list.Kind != yaml.SequenceNode {
			idx[list.Line] = location{entry: section}
			continue
		}
		for j, item := range list.Content {
			entry := fmt.Sprintf("%s[%d]", section, j)
			if item.Kind != yaml.MappingNode {
				idx[item.Line] = location{entry: entry}
				continue
			}
			for k := 0; k+1 < len(item.Content); k += 2 {
				if item.Content[k].Value == identifiers[section] && item.Content[k+1].Value != "" {
					entry += fmt.Sprintf(" (%s %s)", identifiers[section], item.Content[k+1].Value)
				}
			}
			idx[item.Line] = location{entry: entry}
			for k := 0; k+1 < len(item.Content); k += 2 {
				key, val := item.Content[k], item.Content[k+1]
				loc := location{entry: entry, field: key.Value}
				idx[key.Line] = loc
				// A list or block value spans lines; mark each of them.
				markLines(val, loc, idx)
			}
		}
	}
	return idx
}

func markLines(n *yaml.Node, loc location, idx map[int]location) {
	if _, taken := idx[n.Line]; !taken {
		idx[n.Line] = loc
	}
	for _, c := range n.Content {
		markLines(c, loc, idx)
	}
}
