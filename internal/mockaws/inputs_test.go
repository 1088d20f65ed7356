package mockaws_test

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func TestTagsReadsAMapAndAGroupsListAlike(t *testing.T) {
	want := map[string]string{"Name": "c-master-0", "kinfra.dev/master-slot": "0", "unknown": "", "odd": ""}
	asMap := map[string]any{"tags": map[string]any{"Name": "c-master-0", "kinfra.dev/master-slot": "0", "unknown": nil, "odd": 1.0}}
	asList := map[string]any{"tags": []any{
		map[string]any{"key": "Name", "value": "c-master-0", "propagateAtLaunch": true},
		map[string]any{"key": "kinfra.dev/master-slot", "value": "0"},
		map[string]any{"key": "unknown"},
		map[string]any{"key": "odd", "value": 1.0},
		map[string]any{"value": "no key"},
		map[string]any{"key": 7.0, "value": "a key that is no string"},
		"not an object",
	}}
	for name, inputs := range map[string]map[string]any{"map": asMap, "list": asList} {
		require.Equal(t, want, mockaws.Tags(inputs), name)
		v, ok := mockaws.Tag(inputs, "kinfra.dev/master-slot")
		require.True(t, ok, name)
		require.Equal(t, "0", v, name)
		v, ok = mockaws.Tag(inputs, "odd")
		require.True(t, ok, "%s: a tag is present whatever its value", name)
		require.Empty(t, v, name)
		_, ok = mockaws.Tag(inputs, "kinfra.dev/node-pool")
		require.False(t, ok, name)
	}
	for _, inputs := range []map[string]any{nil, {}, {"tags": "x"}, {"tags": []any{}}} {
		require.Empty(t, mockaws.Tags(inputs), "%v", inputs)
	}
}

func TestReadersReturnNothingForAnotherShape(t *testing.T) {
	in := map[string]any{"a": map[string]any{"b": []any{"x", 1.0, "y"}, "s": "text"}}
	require.Equal(t, []string{"x", "y"}, mockaws.Strings(mockaws.Field(in, "a", "b")))
	require.Equal(t, []string{"p"}, mockaws.Strings([]string{"p"}))
	require.Equal(t, "text", mockaws.Str(mockaws.Field(in, "a", "s")))
	require.Equal(t, in["a"], mockaws.Field(in, "a"))
	require.Equal(t, in, mockaws.Field(in))
	require.Len(t, mockaws.List(mockaws.Field(in, "a", "b")), 3)
	for _, v := range []any{nil, true, 1.0, []any{}, map[string]any{}} {
		require.Empty(t, mockaws.Str(v), "%v", v)
		require.Empty(t, mockaws.Strings(v), "%v", v)
		require.Nil(t, mockaws.Field(v, "a", "b"), "%v", v)
		if _, isMap := v.(map[string]any); !isMap {
			require.Nil(t, mockaws.Object(v), "%v", v)
		}
		if _, isList := v.([]any); !isList {
			require.Nil(t, mockaws.List(v), "%v", v)
		}
	}
	require.Nil(t, mockaws.Field(in, "a", "s", "deeper"))
	require.Empty(t, mockaws.Strings("s"))
}

type fakeTB struct{ failed string }

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestMustNamedFailsTheTestForAResourceNeverRecorded(t *testing.T) {
	m := mockaws.New("eu-west-1")
	require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := ec2.NewVpc(ctx, "v", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")})
		return err
	}))
	tb := &fakeTB{}
	require.Equal(t, "v", m.MustNamed(tb, "aws:ec2/vpc:Vpc", "v").Name)
	require.Empty(t, tb.failed)
	m.MustNamed(tb, "aws:ec2/vpc:Vpc", "w")
	require.Equal(t, "no aws:ec2/vpc:Vpc named w", tb.failed)
	m.MustNamed(tb, "aws:ec2/subnet:Subnet", "v")
	require.Equal(t, "no aws:ec2/subnet:Subnet named v", tb.failed)
}
