package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// dynamoSource is the state package whose DynamoDB calls the roles allow.
const dynamoSource = "../internal/state/dynamo"

// sdkCallActions maps a DynamoDB client method to the IAM actions it needs.
// TransactWriteItems is not an IAM action: IAM checks each of its items as
// the PutItem, UpdateItem, DeleteItem or ConditionCheckItem it is (see
// transactItemActions).
var sdkCallActions = map[string][]string{
	"GetItem":          {"dynamodb:GetItem"},
	"PutItem":          {"dynamodb:PutItem"},
	"UpdateItem":       {"dynamodb:UpdateItem"},
	"DeleteItem":       {"dynamodb:DeleteItem"},
	"BatchGetItem":     {"dynamodb:BatchGetItem"},
	"BatchWriteItem":   {"dynamodb:BatchWriteItem"},
	"Query":            {"dynamodb:Query"},
	"Scan":             {"dynamodb:Scan"},
	"TransactGetItems": {"dynamodb:GetItem"},
	// Its items decide: see transactItemActions.
	"TransactWriteItems": nil,
}

var transactItemActions = map[string]string{
	"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
	"Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem",
}

// dynamoActionsOfTheCode reads internal/state/dynamo: the methods of its API
// interface (the only way it reaches DynamoDB) and the kinds of the
// transaction items it builds, as IAM actions.
func dynamoActionsOfTheCode(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dynamoSource, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dynamoSource, err)
	}
	var actions []string
	add := func(a ...string) {
		for _, x := range a {
			if !slices.Contains(actions, x) {
				actions = append(actions, x)
			}
		}
	}
	itemKind := regexp.MustCompile(`\b(Put|Update|Delete|ConditionCheck):\s*&types\.`)
	foundAPI := false
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range itemKind.FindAllStringSubmatch(string(src), -1) {
			add(transactItemActions[m[1]])
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "API" {
				return true
			}
			iface, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				return true
			}
			foundAPI = true
			for _, m := range iface.Methods.List {
				for _, name := range m.Names {
					a, known := sdkCallActions[name.Name]
					if !known {
						t.Errorf("%s calls DynamoDB's %s: add its IAM actions to sdkCallActions and to the stack",
							dynamoSource, name.Name)
					}
					add(a...)
				}
			}
			return false
		})
	}
	if !foundAPI {
		t.Fatalf("no API interface in %s: how does it reach DynamoDB now?", dynamoSource)
	}
	slices.Sort(actions)
	return actions
}

// roleOf follows a function to its role and log group.
func roleOf(t *testing.T, j map[string]any, fnID string) (role, logGroup string) {
	t.Helper()
	props := resources(j, "AWS::Lambda::Function")[fnID]["Properties"].(map[string]any)
	role = props["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	logGroup = props["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
	return role, logGroup
}

func TestEachRoleMayDoExactlyWhatTheCodeCalls(t *testing.T) {
	tmpl, j := everyDoor(t)
	table, secret := only(t, j, "AWS::DynamoDB::Table"), only(t, j, "AWS::SecretsManager::Secret")
	wantDynamo := dynamoActionsOfTheCode(t)
	stacked := slices.Clone(dynamoActions)
	slices.Sort(stacked)
	if !slices.Equal(stacked, wantDynamo) {
		t.Errorf("the stack grants %v on the table, internal/state/dynamo calls %v", stacked, wantDynamo)
	}
	// Two function roles, and API Gateway's account-wide CloudWatch role
	// (restapi_test.go).
	check(t, "three roles", func() { tmpl.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(3)) })
	// No managed policy: AWSLambdaBasicExecutionRole writes to every log group.
	check(t, "no managed policies on the function roles", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Role"), map[string]any{
			"ManagedPolicyArns": assertions.Match_Absent(),
			"Policies":          assertions.Match_Absent(),
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action": "sts:AssumeRole", "Effect": "Allow",
				"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
			}}},
		}, jsii.Number(2))
	})
	roles := statementsOf(t, j)
	if len(roles) != 2 {
		t.Fatalf("%d roles with policies, want one per function: %v", len(roles), roles)
	}
	ref := func(k, id string) string {
		if k == "Ref" {
			return fmt.Sprint(map[string]any{"Ref": id})
		}
		return fmt.Sprint(map[string]any{"Fn::GetAtt": []any{id, k}})
	}
	for _, name := range []string{"Api", "Stream"} {
		role, logGroup := roleOf(t, j, functionID(t, j, name))
		stmts, ok := roles[fmt.Sprint([]any{map[string]any{"Ref": role}})]
		if !ok {
			t.Errorf("%s: no policy on its role %s (policies on %v)", name, role, roles)
			continue
		}
		// Each service's actions and the only resources they may act on.
		want := map[string]struct {
			actions   []string
			resources []string
		}{
			"dynamodb":       {wantDynamo, []string{ref("Arn", table)}},
			"secretsmanager": {[]string{"secretsmanager:GetSecretValue"}, []string{ref("Ref", secret)}},
			"logs":           {[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{ref("Arn", logGroup)}},
		}
		got := map[string][]string{}
		for _, s := range stmts {
			for _, a := range s.actions {
				service, _, _ := strings.Cut(a, ":")
				w, ok := want[service]
				if !ok {
					t.Errorf("%s: %s is not an action the gateway calls", name, a)
					continue
				}
				if !slices.Contains(got[service], a) {
					got[service] = append(got[service], a)
				}
				for _, r := range s.resources {
					if !slices.Contains(w.resources, r) {
						t.Errorf("%s: %s on %s, want only %v", name, a, r, w.resources)
					}
				}
			}
		}
		for service, w := range want {
			slices.Sort(got[service])
			if !slices.Equal(got[service], w.actions) {
				t.Errorf("%s: %s actions %v, want %v", name, service, got[service], w.actions)
			}
		}
	}
}

func bedrockActions(t *testing.T, j map[string]any) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for role, stmts := range statementsOf(t, j) {
		for _, s := range stmts {
			for _, a := range s.actions {
				if !strings.HasPrefix(a, "bedrock:") {
					continue
				}
				out[role] = append(out[role], a)
				for _, r := range s.resources {
					if !strings.Contains(r, ":foundation-model/*") && !strings.Contains(r, ":inference-profile/*") {
						t.Errorf("%s: %s on %s", role, a, r)
					}
				}
			}
		}
		slices.Sort(out[role])
	}
	return out
}

func TestBedrockIsGrantedOnlyWhenTurnedOn(t *testing.T) {
	_, j := defaults(t)
	if got := bedrockActions(t, j); len(got) != 0 {
		t.Errorf("Bedrock off, yet the roles may call it: %v", got)
	}
	check(t, "BEDROCK_ENABLED unset by default", func() {
		defaultTemplate.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"BEDROCK_ENABLED": assertions.Match_Absent(),
			})},
		})
	})
	for name, props := range map[string]*GatewayStackProps{
		"prop":               {Bedrock: true, HTTPAPI: true},
		"BEDROCK_ENABLED":    {HTTPAPI: true, Environment: map[string]string{"BEDROCK_ENABLED": "true"}},
		"BEDROCK_MODELS set": {HTTPAPI: true, Environment: map[string]string{"BEDROCK_MODELS": "anthropic.claude-3-5-haiku-20241022-v1:0"}},
	} {
		tmpl := synth(t, props)
		got := bedrockActions(t, *tmpl.ToJSON())
		if len(got) != 2 {
			t.Errorf("%s: Bedrock granted to %d roles, want both: %v", name, len(got), got)
		}
		for role, a := range got {
			if !slices.Equal(a, []string{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}) {
				t.Errorf("%s: %s may call %v", name, role, a)
			}
		}
		if props.Bedrock {
			check(t, name+": provider on", func() {
				tmpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
						"BEDROCK_ENABLED": "true",
					})},
				})
			})
		}
	}
}
