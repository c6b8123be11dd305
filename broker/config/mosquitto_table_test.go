package config

import "testing"

// The directive tables are searched by binary search: they must stay
// sorted, without duplicates, and no name may be in both.
func TestDirectiveTablesSorted(t *testing.T) {
	for i := 1; i < len(directives); i++ {
		if directives[i-1].name >= directives[i].name {
			t.Errorf("directives: %q before %q", directives[i-1].name, directives[i].name)
		}
	}
	for i := 1; i < len(ignored); i++ {
		if ignored[i-1].name >= ignored[i].name {
			t.Errorf("ignored: %q before %q", ignored[i-1].name, ignored[i].name)
		}
	}
	for _, u := range ignored {
		if lookupDirective(u.name) != nil {
			t.Errorf("%q is both handled and ignored", u.name)
		}
	}
	for _, d := range directives {
		if lookupDirective(d.name) == nil {
			t.Errorf("%q not found", d.name)
		}
	}
}
