package api

// Request and response bodies of the iotexplorer 2019-04-23 actions, with the
// field names and JSON types of tencentcloud-sdk-go's models.go. Request
// fields tagged required:"true" must be present (MissingParameter
// otherwise); they are pointers so absence can be told from a zero value.
// Responses carry every documented field so typed SDK clients see the same
// shapes as from Tencent; RequestId is added by the handler.

// ProjectEntry is a project as returned by Create/ModifyProject.
type ProjectEntry struct {
	ProjectId   string
	ProjectName string
	ProjectDesc string
	CreateTime  uint64
	UpdateTime  uint64
}

// ProjectEntryEx is a project with counts (DescribeProject, GetProjectList).
type ProjectEntryEx struct {
	ProjectId        string
	ProjectName      string
	ProjectDesc      string
	CreateTime       uint64
	UpdateTime       uint64
	ProductCount     uint64
	NativeAppCount   uint64
	WebAppCount      uint64
	InstanceId       string
	ApplicationCount uint64
	DeviceCount      uint64
	EnableOpenState  uint64
}

// ProductEntry is a product.
type ProductEntry struct {
	ProductId           string
	ProductName         string
	CategoryId          int64
	EncryptionType      string
	NetType             string
	DataProtocol        int64
	ProductDesc         string
	DevStatus           string
	CreateTime          uint64
	UpdateTime          uint64
	Region              string
	ProductType         int64
	ProjectId           string
	ModuleId            int64
	EnableProductScript string
	CreateUserId        int64
	CreatorNickName     string
	BindStrategy        uint64
	DeviceCount         int64
	Rate                string
	Period              string
	IsInterconnection   int64
}

// DeviceData is CreateDevice's result.
type DeviceData struct {
	DeviceCert       string
	DeviceName       string
	DevicePrivateKey string
	DevicePsk        string
}

// DeviceInfo is a device (DescribeDevice, GetDeviceList).
type DeviceInfo struct {
	DeviceName      string
	Status          int64
	DevicePsk       string
	FirstOnlineTime int64
	LoginTime       int64
	CreateTime      int64
	Version         string
	DeviceCert      string
	LogLevel        int64
	DevAddr         string
	AppKey          string
	DevEUI          string
	AppSKey         string
	NwkSKey         string
	CreateUserId    int64
	CreatorNickName string
	EnableState     int64
	ProductId       string
	ProductName     string
	DeviceType      string
	IsLora          bool
}

// DevicesItem names one device in batch requests.
type DevicesItem struct {
	ProductId  *string `required:"true"`
	DeviceName *string `required:"true"`
}

// Filter is one list filter.
type Filter struct {
	Name   *string `required:"true"`
	Values []string
}

// TopicItem is one custom topic.
type TopicItem struct {
	TopicName string
	Privilege uint64
}

// Project actions.
type (
	createProjectRequest struct {
		ProjectName *string `required:"true"`
		ProjectDesc *string `required:"true"`
		InstanceId  string
	}
	createProjectResponse struct{ Project ProjectEntry }

	describeProjectRequest struct {
		ProjectId *string `required:"true"`
	}
	describeProjectResponse struct{ Project ProjectEntryEx }

	getProjectListRequest struct {
		Offset      int64
		Limit       *int64
		InstanceId  string
		ProjectId   string
		ProductId   string
		Includes    []string
		ProjectName string
	}
	getProjectListResponse struct {
		Projects []ProjectEntryEx
		Total    int64
	}

	modifyProjectRequest struct {
		ProjectId   *string `required:"true"`
		ProjectName *string `required:"true"`
		ProjectDesc *string `required:"true"`
	}
	modifyProjectResponse struct{ Project ProjectEntry }

	deleteProjectRequest struct {
		ProjectId *string `required:"true"`
	}
	emptyResponse struct{}
)

// Product actions.
type (
	createStudioProductRequest struct {
		ProductName    *string `required:"true"`
		CategoryId     *int64  `required:"true"`
		ProductType    *int64  `required:"true"`
		EncryptionType *string `required:"true"`
		NetType        *string `required:"true"`
		DataProtocol   *int64  `required:"true"`
		ProductDesc    *string `required:"true"`
		ProjectId      *string `required:"true"`
		Rate           string
		Period         string
	}
	productResponse struct{ Product ProductEntry }

	productIDRequest struct {
		ProductId *string `required:"true"`
	}

	getStudioProductListRequest struct {
		ProjectId string
		DevStatus string
		Offset    uint64
		Limit     *uint64
	}
	getStudioProductListResponse struct {
		Products []ProductEntry
		Total    int64
	}

	modifyStudioProductRequest struct {
		ProductId           *string `required:"true"`
		ProductName         *string `required:"true"`
		ProductDesc         *string `required:"true"`
		ModuleId            *int64  `required:"true"`
		EnableProductScript *string
		BindStrategy        *uint64
	}

	releaseStudioProductRequest struct {
		ProductId *string `required:"true"`
		DevStatus *string `required:"true"`
	}
)

// Device actions.
type (
	createDeviceRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		DefinedPsk string
	}
	createDeviceResponse struct{ Data DeviceData }

	// describeDeviceRequest: ProductId and DeviceName are required unless
	// DeviceId ("PID/name") is given; the handler checks that.
	describeDeviceRequest struct {
		ProductId  string
		DeviceName string
		DeviceId   string
	}
	describeDeviceResponse struct{ Device DeviceInfo }

	deleteDeviceRequest struct {
		ProductId   *string `required:"true"`
		DeviceName  *string `required:"true"`
		ForceDelete bool
	}
	resultResponse struct {
		ResultCode    string
		ResultMessage string
	}

	deleteDevicesRequest struct {
		DevicesItems []DevicesItem `required:"true"`
	}

	getDeviceListRequest struct {
		ProductId       *string `required:"true"`
		Offset          int64
		Limit           *int64
		FirmwareVersion string
		FwType          string
		DeviceName      string
		ProjectId       string
		Filters         []Filter
	}
	getDeviceListResponse struct {
		Devices []DeviceInfo
		Total   int64
	}

	updateDevicesEnableStateRequest struct {
		DevicesItems []DevicesItem `required:"true"`
		Status       *int64        `required:"true"`
	}

	getDeviceSumStatisticsRequest struct {
		ProjectId  *string `required:"true"`
		ProductIds []string
	}
	getDeviceSumStatisticsResponse struct {
		ActivationCount              int64
		OnlineCount                  int64
		ActivationBeforeDay          int64
		ActiveBeforeDay              int64
		ActivationWeekDayCount       int64
		ActiveWeekDayCount           int64
		ActivationBeforeWeekDayCount int64
		ActiveBeforeWeekDayCount     int64
	}

	publishMessageRequest struct {
		ProductId       *string `required:"true"`
		DeviceName      *string `required:"true"`
		Topic           *string `required:"true"`
		Payload         *string `required:"true"`
		Qos             uint64
		PayloadEncoding string
	}
)

// Topic policy actions.
type (
	createTopicPolicyRequest struct {
		ProductId *string `required:"true"`
		TopicName *string `required:"true"`
		Privilege *uint64 `required:"true"`
	}
	topicPolicyRequest struct {
		ProductId *string `required:"true"`
		TopicName *string `required:"true"`
	}
	describeTopicPolicyResponse struct {
		ProductId string
		TopicName string
		Privilege uint64
	}
	listTopicPolicyResponse  struct{ Topics []TopicItem }
	modifyTopicPolicyRequest struct {
		ProductId    *string `required:"true"`
		TopicName    *string `required:"true"`
		NewTopicName *string `required:"true"`
		Privilege    *uint64 `required:"true"`
	}
)
