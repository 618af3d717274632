public enum ModelsModule {}
