package regions

// The Availability Zones of each region kinfra supports. The SDK's
// partitions name the regions (partitions_gen.go); zones are in no SDK, so
// this table is kept by hand from public sources (docs/decisions.md,
// "Regions and zones", says which and how to refresh it).
//
// Zone names are the region's name and a letter. In the regions AWS opened
// before November 2012 the letters are mapped per account, and retired
// zones stay visible to the older accounts that had them, so an account may
// see letters another does not: current is what an account created today
// sees, someAccounts the letters that exist only in some accounts, and
// perAccount the most zones any one account sees when that is fewer than
// both together (us-west-1: three letters, two per account).

type zoneFacts struct {
	current      string // letters every account has (an account created today sees exactly these)
	someAccounts string // letters only some accounts have
	perAccount   int    // most zones one account sees; 0: current and someAccounts together
	optIn        bool   // opened after 20 March 2019: disabled until the account enables it
}

// zoneTable is by region name. Sources, as of 2026-09: moto 5.2.1's
// ec2/models/availability_zones_and_regions.py (one account's
// DescribeAvailabilityZones, zone names with their AZ IDs) for current,
// corrected where public material shows otherwise (docs/decisions.md lists
// each correction and its source).
var zoneTable = map[string]zoneFacts{
	// aws
	"af-south-1":     {current: "abc", optIn: true},
	"ap-east-1":      {current: "abc", optIn: true},
	"ap-east-2":      {current: "abc", optIn: true},
	"ap-northeast-1": {current: "acd", someAccounts: "b"}, // apne1-az3 (1b) only in accounts that had it before it was retired
	"ap-northeast-2": {current: "abcd"},
	"ap-northeast-3": {current: "abc"},
	"ap-south-1":     {current: "abc"},
	"ap-south-2":     {current: "abc", optIn: true},
	"ap-southeast-1": {current: "abc"},
	"ap-southeast-2": {current: "abc"},
	"ap-southeast-3": {current: "abc", optIn: true},
	"ap-southeast-4": {current: "abc", optIn: true},
	"ap-southeast-5": {current: "abc", optIn: true},
	"ap-southeast-6": {current: "abc", optIn: true},
	"ap-southeast-7": {current: "abc", optIn: true},
	"ca-central-1":   {current: "abd"}, // cac1-az4 is 1d; there is no 1c
	"ca-west-1":      {current: "abc", optIn: true},
	"eu-central-1":   {current: "abc"},
	"eu-central-2":   {current: "abc", optIn: true},
	"eu-north-1":     {current: "abc"},
	"eu-south-1":     {current: "abc", optIn: true},
	"eu-south-2":     {current: "abc", optIn: true},
	"eu-west-1":      {current: "abc"},
	"eu-west-2":      {current: "abc"},
	"eu-west-3":      {current: "abc"},
	"il-central-1":   {current: "abc", optIn: true},
	"me-central-1":   {current: "abc", optIn: true},
	"me-south-1":     {current: "abc", optIn: true},
	"mx-central-1":   {current: "abc", optIn: true},
	"sa-east-1":      {current: "abc"},
	"us-east-1":      {current: "abcdef"},
	"us-east-2":      {current: "abc"},
	"us-west-1":      {current: "ab", someAccounts: "c", perAccount: 2}, // two of usw1-az1 and usw1-az3 per account, lettered a/b, a/c or b/c
	"us-west-2":      {current: "abcd"},
	// aws-cn
	"cn-north-1":     {current: "abd"}, // cnn1-az4 is 1d (moto lists only a and b)
	"cn-northwest-1": {current: "abc"},
	// aws-us-gov
	"us-gov-east-1": {current: "abc"},
	"us-gov-west-1": {current: "abc"},
}

// supportedPartitions are the partitions kinfra deploys to.
var supportedPartitions = []string{"aws", "aws-cn", "aws-us-gov"}

// refusedPartitions says why kinfra does not deploy to the others.
var refusedPartitions = map[string]string{
	"aws-iso":   "air-gapped (AWS Secret Region): its zones are not public, and kinfra's image builds download from GitHub, dl.k8s.io and public registries, which it cannot reach",
	"aws-iso-b": "air-gapped (AWS Top Secret Region): its zones are not public, and kinfra's image builds download from GitHub, dl.k8s.io and public registries, which it cannot reach",
	"aws-iso-e": "air-gapped: its zones are not public, and kinfra's image builds download from GitHub, dl.k8s.io and public registries, which it cannot reach",
	"aws-iso-f": "air-gapped: its zones are not public, and kinfra's image builds download from GitHub, dl.k8s.io and public registries, which it cannot reach",
	"aws-eusc":  "the AWS European Sovereign Cloud's zones are not in the public sources kinfra's zone table is built from, and its services have not been checked against what kinfra uses",
}
