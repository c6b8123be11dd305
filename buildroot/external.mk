include $(sort $(wildcard $(BR2_EXTERNAL_MIDGE_PATH)/package/*/*.mk))
